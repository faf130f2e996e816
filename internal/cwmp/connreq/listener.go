package connreq

import (
	"errors"
	"net/http"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// listenerRealm is the Digest realm of NewListenerHandler.
const listenerRealm = "cpe-connection-request"

// NewListenerHandler is the CPE side of TR-069 §3.2.2, for the CPE simulator: a Digest-protected
// GET handler that calls onWake and answers 200 once the credentials check out. onWake runs on
// the request goroutine and should only signal (e.g. a non-blocking channel send).
func NewListenerHandler(username, password string, onWake func()) http.Handler {
	v, err := auth.NewVerifier(auth.ModeDigest, listenerRealm, auth.Static{User: username, Pass: password}, nil)
	if err != nil {
		// Fixed mode, realm and non-nil credentials: NewVerifier cannot fail here.
		panic("connreq: listener verifier: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "connection requests use GET", http.StatusMethodNotAllowed)
			return
		}
		if _, err := v.Check(r); err != nil {
			v.Challenge(w, errors.Is(err, auth.ErrStaleNonce))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if onWake != nil {
			onWake()
		}
		w.WriteHeader(http.StatusOK)
	})
}
