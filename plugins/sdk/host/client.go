package host

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// pluginBackend reaches a translator plugin through the process its supervisor keeps running.
type pluginBackend struct{ p *proc }

func (b pluginBackend) api() (pb.TranslatorClient, error) {
	inst := b.p.current()
	if inst == nil {
		return nil, fail(ErrUnavailable, "plugin process is %s", b.p.stateNow())
	}
	return inst.api, nil
}

func (b pluginBackend) describe(ctx context.Context) (sdk.Description, error) {
	api, err := b.api()
	if err != nil {
		return sdk.Description{}, err
	}
	return describeRPC(ctx, api)
}

func describeRPC(ctx context.Context, api pb.TranslatorClient) (sdk.Description, error) {
	resp, err := api.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return sdk.Description{}, classify(ctx, err)
	}
	return descriptionFromPB(resp), nil
}

func (b pluginBackend) normalize(ctx context.Context, req sdk.NormalizeRequest) (sdk.State, error) {
	api, err := b.api()
	if err != nil {
		return nil, err
	}
	resp, err := api.Normalize(ctx, &pb.NormalizeRequest{Device: deviceToPB(req.Device), Params: paramsToPB(req.Params)})
	if err != nil {
		return nil, classify(ctx, err)
	}
	st, err := wire.ValuesFromPB(resp.GetState())
	if err != nil {
		return nil, fail(ErrBadResponse, "%v", err)
	}
	return st, nil
}

func (b pluginBackend) resolveGet(ctx context.Context, req sdk.GetRequest) (sdk.GetPlan, error) {
	api, err := b.api()
	if err != nil {
		return sdk.GetPlan{}, err
	}
	resp, err := api.ResolveGet(ctx, &pb.ResolveGetRequest{Device: deviceToPB(req.Device), Keys: validUTF8s(req.Keys),
		Names: validUTF8s(req.Model.Names())})
	if err != nil {
		return sdk.GetPlan{}, classify(ctx, err)
	}
	return sdk.GetPlan{Names: resp.GetNames(), Unknown: resp.GetUnknown(), Absent: resp.GetAbsent(), Missing: resp.GetMissing()}, nil
}

func (b pluginBackend) denormalizeSet(ctx context.Context, req sdk.SetRequest) (sdk.SetPlan, error) {
	api, err := b.api()
	if err != nil {
		return sdk.SetPlan{}, err
	}
	values, err := wire.ValuesToPB(req.Values)
	if err != nil {
		// The caller's own values: not the plugin's fault, and nothing was sent.
		return sdk.SetPlan{}, fail(ErrPlugin, "values: %v", err)
	}
	resp, err := api.DenormalizeSet(ctx, &pb.DenormalizeSetRequest{
		Device: deviceToPB(req.Device), Values: values, Params: paramsToPB(req.Params),
		Names: validUTF8s(req.Model.Names()),
	})
	if err != nil {
		return sdk.SetPlan{}, classify(ctx, err)
	}
	return sdk.SetPlan{RPCs: rpcsFromPB(resp.GetRpcs()), Rejected: resp.GetRejected(),
		Codes: wire.RejectCodesFromPB[sdk.RejectCode](resp.GetCodes())}, nil
}

func (b pluginBackend) provision(ctx context.Context, req sdk.ProvisionRequest) ([]sdk.RPC, error) {
	api, err := b.api()
	if err != nil {
		return nil, err
	}
	resp, err := api.Provision(ctx, &pb.ProvisionRequest{
		Device: deviceToPB(req.Device), Events: validUTF8s(req.Events), Params: paramsToPB(req.Params),
	})
	if err != nil {
		return nil, classify(ctx, err)
	}
	return rpcsFromPB(resp.GetRpcs()), nil
}

// classify maps a gRPC error to a failure kind (translator.proto: UNKNOWN is the translator's
// own refusal; the rest is transport).
func classify(ctx context.Context, err error) *failure {
	if ctx.Err() != nil {
		return ctxFailure(ctx)
	}
	st := status.Convert(err)
	switch st.Code() {
	case wire.CodeTranslatorError:
		return &failure{kind: ErrPlugin, detail: st.Message()}
	case codes.DeadlineExceeded:
		return fail(ErrTimeout, "%s", st.Message())
	case codes.Unavailable, codes.Canceled:
		return fail(ErrUnavailable, "%s", st.Message())
	case codes.ResourceExhausted:
		return fail(ErrTooLarge, "%s", st.Message())
	}
	return fail(ErrBadResponse, "%s: %s", st.Code(), st.Message())
}

func deviceToPB(d sdk.DeviceInfo) *pb.DeviceInfo {
	return &pb.DeviceInfo{
		Id:              wire.ValidUTF8(d.ID),
		Manufacturer:    wire.ValidUTF8(d.Manufacturer),
		Oui:             wire.ValidUTF8(d.OUI),
		ProductClass:    wire.ValidUTF8(d.ProductClass),
		SerialNumber:    wire.ValidUTF8(d.SerialNumber),
		SoftwareVersion: wire.ValidUTF8(d.SoftwareVersion),
		HardwareVersion: wire.ValidUTF8(d.HardwareVersion),
		Root:            wire.ValidUTF8(d.Root),
	}
}

func paramsToPB(m map[string]sdk.Value) map[string]*pb.RawValue {
	out := make(map[string]*pb.RawValue, len(m))
	for k, v := range m {
		out[wire.ValidUTF8(k)] = &pb.RawValue{Value: wire.ValidUTF8(v.Value), Type: wire.ValidUTF8(v.Type)}
	}
	return out
}

func validUTF8s(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = wire.ValidUTF8(s)
	}
	return out
}

var accessFromPB = map[pb.Access]sdk.Access{
	pb.Access_ACCESS_READ:       sdk.Read,
	pb.Access_ACCESS_WRITE:      sdk.Write,
	pb.Access_ACCESS_READ_WRITE: sdk.ReadWrite,
}

func descriptionFromPB(r *pb.DescribeResponse) sdk.Description {
	d := sdk.Description{Name: r.GetName(), Version: r.GetVersion(), ModelVersion: r.GetModelVersion()}
	for _, m := range r.GetMatch() {
		d.Match = append(d.Match, sdk.Match{
			Manufacturer:    m.GetManufacturer(),
			OUI:             m.GetOui(),
			ProductClass:    m.GetProductClass(),
			SoftwareVersion: m.GetSoftwareVersion(),
			HardwareVersion: m.GetHardwareVersion(),
		})
	}
	for _, e := range r.GetExposes() {
		d.Exposes = append(d.Exposes, sdk.Expose{
			Key:         e.GetKey(),
			Type:        e.GetType(),
			Unit:        e.GetUnit(),
			Access:      accessFromPB[e.GetAccess()], // UNSPECIFIED becomes "" and fails validation
			Description: e.GetDescription(),
		})
	}
	return d
}

func rpcsFromPB(list []*pb.RPC) []sdk.RPC {
	out := make([]sdk.RPC, 0, len(list))
	for _, r := range list {
		out = append(out, sdk.RPC{Method: r.GetMethod(), Args: wire.ArgsFromPB(r.GetArgs())})
	}
	return out
}
