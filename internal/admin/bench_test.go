package admin

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkObserveInform is what the metrics add to one periodic Inform: its event count and the
// timing of its translator call (the two hooks on the session path).
func BenchmarkObserveInform(b *testing.B) {
	m := NewMetrics()
	events := []string{"2 PERIODIC"}
	for b.Loop() {
		m.Inform("00259E-HG8245-A1", events)
		m.TranslatorCall("standard", "normalize", 170*time.Microsecond, nil)
	}
}

func benchServer(b *testing.B, n int) *Server {
	devs := make(fakeDevices, n)
	for i := range devs {
		devs[i] = device(fmt.Sprintf("202BC1-BM632w-SIM%06d", i), "Huawei Technologies Co., Ltd.", "BM632w", true, i%3)
	}
	src := testSources()
	src.Devices = devs
	s, err := New(Config{Listen: "127.0.0.1:0"}, src, NewMetrics(), nil)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkScrape1000Devices is one /metrics scrape of a gateway with 1,000 devices, the Go
// runtime and process collectors included.
func BenchmarkScrape1000Devices(b *testing.B) {
	h := benchServer(b, 1000).http.Handler
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkStatusPage1000Devices renders the status page with 1,000 devices (500 rows shown).
func BenchmarkStatusPage1000Devices(b *testing.B) {
	h := benchServer(b, 1000).http.Handler
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
