package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api"

	"go.uber.org/zap"
)

// translators is the translator host as wired into the gateway (issue 4 fills it in).
type translators struct{}

func startTranslators(ctx context.Context, cfg *Config, log *zap.Logger, event func(kind, plugin, reason string)) (*translators, error) {
	return nil, nil
}

// List is nil-safe: a gateway without translators lists none.
func (t *translators) List() []api.TranslatorInfo {
	return []api.TranslatorInfo{}
}

func (t *translators) Stop() {}

func runPlugin(args []string, stderr io.Writer) int {
	fmt.Fprintln(stderr, "cwmp2mqtt plugin: not available in this build")
	return 2
}

// redactURL drops credentials from a URL before it is logged or published.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
