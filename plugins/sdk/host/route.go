package host

import (
	"context"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// The methods below Select the device's translator and call it, returning the translator's
// name with the answer: the shape internal/bridge.Translators expects (internal/bridge/state.go).

// Normalize routes to the device's translator.
func (h *Host) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	name, tr, err := h.route(dev, "Normalize")
	if err != nil {
		return name, nil, err
	}
	st, err := tr.Normalize(ctx, sdk.NormalizeRequest{Device: dev, Params: params})
	return name, st, err
}

// ResolveGet routes to the device's translator; model is the device's discovered data model,
// nil while unknown.
func (h *Host) ResolveGet(ctx context.Context, dev sdk.DeviceInfo, keys []string, model *sdk.DataModel) (string, sdk.GetPlan, error) {
	name, tr, err := h.route(dev, "ResolveGet")
	if err != nil {
		return name, sdk.GetPlan{}, err
	}
	plan, err := tr.ResolveGet(ctx, sdk.GetRequest{Device: dev, Keys: keys, Model: model})
	return name, plan, err
}

// DenormalizeSet routes to the device's translator.
func (h *Host) DenormalizeSet(ctx context.Context, dev sdk.DeviceInfo, values map[string]any, params map[string]sdk.Value, model *sdk.DataModel) (string, sdk.SetPlan, error) {
	name, tr, err := h.route(dev, "DenormalizeSet")
	if err != nil {
		return name, sdk.SetPlan{}, err
	}
	plan, err := tr.DenormalizeSet(ctx, sdk.SetRequest{Device: dev, Values: values, Params: params, Model: model})
	return name, plan, err
}

// Provision routes to the device's translator.
func (h *Host) Provision(ctx context.Context, dev sdk.DeviceInfo, events []string, params map[string]sdk.Value) (string, []sdk.RPC, error) {
	name, tr, err := h.route(dev, "Provision")
	if err != nil {
		return name, nil, err
	}
	rpcs, err := tr.Provision(ctx, sdk.ProvisionRequest{Device: dev, Events: events, Params: params})
	return name, rpcs, err
}

func (h *Host) route(dev sdk.DeviceInfo, method string) (string, Translator, error) {
	name, tr := h.Select(dev)
	if tr == nil {
		return "", nil, &CallError{Translator: Fallback, Method: method, Kind: ErrUnavailable, Detail: "no translator matches and none is registered as " + Fallback}
	}
	return name, tr, nil
}
