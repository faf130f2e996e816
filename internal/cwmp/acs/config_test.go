package acs

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidateNamesTheField(t *testing.T) {
	for field, cfg := range map[string]Config{
		"Path":                  {Path: "acs"},
		"IdleTimeout":           {IdleTimeout: -time.Second},
		"MaxSessionDuration":    {MaxSessionDuration: -1},
		"MaxRPCsPerSession":     {MaxRPCsPerSession: -1},
		"MaxConcurrentSessions": {MaxConcurrentSessions: -5},
		"MaxBodyBytes":          {MaxBodyBytes: -1},
		"MaxHeaderBytes":        {MaxHeaderBytes: -1},
		"ReadTimeout":           {ReadTimeout: -1},
		"WriteTimeout":          {WriteTimeout: -1},
		"RetryAfter":            {RetryAfter: 10 * time.Millisecond},
	} {
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v, want an error naming the field", field, err)
		}
		if _, err := New(cfg, newRecHandler(), nil); err == nil {
			t.Errorf("%s: New accepted an invalid config", field)
		}
	}
	if err := (Config{IdleTimeout: time.Hour, MaxSessionDuration: time.Minute}).Validate(); err == nil {
		t.Error("IdleTimeout beyond MaxSessionDuration accepted")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config (all defaults) rejected: %v", err)
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("nil Handler accepted")
	}
	d := Config{}.withDefaults()
	if d.IdleTimeout != 30*time.Second || d.MaxBodyBytes != 4<<20 || d.MaxConcurrentSessions != 1000 || d.Listen != ":7547" {
		t.Errorf("defaults: %+v", d)
	}
}
