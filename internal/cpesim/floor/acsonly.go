package floor

// The ACS-only server sits between the floor and the full gateway: the gateway's real ACS stack
// (internal/cwmp/acs: HTTP server, session state machine, cookies, limits, the internal/cwmp/soap codec) with a
// Handler that accepts every Inform and has no tasks — no bridge, no store, no MQTT, no
// translator. cpesim figures against floor, ACS-only and gateway split the gateway's cost into
// HTTP+simulator, the ACS stack, and the bridge/MQTT side behind it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// ACSOnlyHandler is the cheapest acs.Handler that still completes real sessions: Inform is
// accepted (InformResponse), CPE-initiated TransferCompletes are acknowledged so a CPE does not
// resend them, other CPE requests get the server's 8000, and there are never tasks, so every
// session ends with 204 after the CPE's empty POST (TR-069 §3.7.1.5).
type ACSOnlyHandler struct {
	// Informs counts accepted Informs; Ended counts ended sessions by reason "done".
	Informs atomic.Int64
	Ended   atomic.Int64
}

var _ acs.Handler = (*ACSOnlyHandler)(nil)

func (h *ACSOnlyHandler) Inform(context.Context, *acs.Session, *soap.Inform) error {
	h.Informs.Add(1)
	return nil
}

func (h *ACSOnlyHandler) CPERequest(_ context.Context, _ *acs.Session, req soap.Message) (soap.Message, error) {
	switch req.(type) {
	case *soap.TransferComplete:
		return &soap.TransferCompleteResponse{}, nil
	case *soap.AutonomousTransferComplete:
		return &soap.AutonomousTransferCompleteResponse{}, nil
	}
	return nil, nil // the server answers 8000 Method not supported
}

func (h *ACSOnlyHandler) NextTask(context.Context, *acs.Session) (*acs.Task, error) { return nil, nil }

func (h *ACSOnlyHandler) TaskDone(context.Context, *acs.Session, *acs.Task, soap.Message, error) {}

func (h *ACSOnlyHandler) SessionEnded(_ context.Context, _ *acs.Session, _ *acs.Task, reason acs.EndReason) {
	if reason == acs.EndDone {
		h.Ended.Add(1)
	}
}

// NewACSOnly returns the ACS-only server on listen with the gateway's default ACS limits
// (acs.Config zero values, as cwmp2mqtt's defaults) and no authentication, and its handler.
// The caller starts it (Start) and stops it (Shutdown).
func NewACSOnly(listen string, log *zap.Logger) (*acs.Server, *ACSOnlyHandler, error) {
	if listen == "" {
		return nil, nil, errors.New("floor: ACS-only server needs a listen address")
	}
	h := &ACSOnlyHandler{}
	srv, err := acs.New(acs.Config{Listen: listen}, h, log.Named("acsonly"))
	if err != nil {
		return nil, nil, err
	}
	return srv, h, nil
}

// ServeACSOnly runs the ACS-only server on listen until ctx ends (`cpesim floor -acs`). It
// prints the listening address and pid to out, as the floor does, for cpesim's -pid.
func ServeACSOnly(ctx context.Context, listen string, log *zap.Logger, out io.Writer) error {
	srv, h, err := NewACSOnly(listen, log)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "ACS-only server (cwmp/acs, no bridge) on %s (pid %d)\n", srv.Addr(), os.Getpid())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	fmt.Fprintf(out, "ACS-only server: %d informs, %d sessions done\n", h.Informs.Load(), h.Ended.Load())
	return err
}
