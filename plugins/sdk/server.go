package sdk

import (
	"context"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// server adapts a Translator to the translator.v1 gRPC service. Requests are decoded to SDK
// types, answers encoded back; the host validates the answers against Describe.
type server struct {
	pb.UnimplementedTranslatorServer
	impl Translator
}

// guard turns a panic of the vendor's code into an error of this call, so one bad input does not
// kill the process (and every device behind it).
func guard(method string, err *error) {
	if r := recover(); r != nil {
		Logger().Error("translator panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = status.Errorf(wire.CodeTranslatorError, "panic in %s: %v", method, r)
	}
}

// refused reports an error the translator returned (translator.proto: status UNKNOWN).
func refused(err error) error {
	return status.Error(wire.CodeTranslatorError, err.Error())
}

// unencodable reports an answer that has no wire form (a NaN, a channel...): the host counts it
// as a bad response, exactly as it does for the same answer from an in-process translator.
func unencodable(err error) error {
	return status.Errorf(codes.Internal, "unencodable answer: %v", err)
}

func (s *server) Describe(_ context.Context, _ *pb.DescribeRequest) (_ *pb.DescribeResponse, err error) {
	defer guard("Describe", &err)
	d, err := s.impl.Describe()
	if err != nil {
		return nil, refused(err)
	}
	return describeToPB(d), nil
}

func (s *server) Normalize(_ context.Context, req *pb.NormalizeRequest) (_ *pb.NormalizeResponse, err error) {
	defer guard("Normalize", &err)
	st, err := s.impl.Normalize(NormalizeRequest{Device: deviceFromPB(req.GetDevice()), Params: paramsFromPB(req.GetParams())})
	if err != nil {
		return nil, refused(err)
	}
	out, err := wire.ValuesToPB(st)
	if err != nil {
		return nil, unencodable(err)
	}
	return &pb.NormalizeResponse{State: out}, nil
}

func (s *server) ResolveGet(_ context.Context, req *pb.ResolveGetRequest) (_ *pb.ResolveGetResponse, err error) {
	defer guard("ResolveGet", &err)
	plan, err := s.impl.ResolveGet(GetRequest{Device: deviceFromPB(req.GetDevice()), Keys: req.GetKeys(),
		Model: NewDataModel(req.GetNames())})
	if err != nil {
		return nil, refused(err)
	}
	return &pb.ResolveGetResponse{Names: plan.Names, Unknown: plan.Unknown, Absent: plan.Absent, Missing: plan.Missing}, nil
}

func (s *server) DenormalizeSet(_ context.Context, req *pb.DenormalizeSetRequest) (_ *pb.DenormalizeSetResponse, err error) {
	defer guard("DenormalizeSet", &err)
	values, err := wire.ValuesFromPB(req.GetValues())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "values: %v", err)
	}
	plan, err := s.impl.DenormalizeSet(SetRequest{
		Device: deviceFromPB(req.GetDevice()),
		Values: values,
		Params: paramsFromPB(req.GetParams()),
		Model:  NewDataModel(req.GetNames()),
	})
	if err != nil {
		return nil, refused(err)
	}
	rpcs, err := rpcsToPB(plan.RPCs)
	if err != nil {
		return nil, unencodable(err)
	}
	return &pb.DenormalizeSetResponse{Rpcs: rpcs, Rejected: plan.Rejected, Codes: wire.RejectCodesToPB(plan.Codes)}, nil
}

func (s *server) Provision(_ context.Context, req *pb.ProvisionRequest) (_ *pb.ProvisionResponse, err error) {
	defer guard("Provision", &err)
	list, err := s.impl.Provision(ProvisionRequest{
		Device: deviceFromPB(req.GetDevice()),
		Events: req.GetEvents(),
		Params: paramsFromPB(req.GetParams()),
	})
	if err != nil {
		return nil, refused(err)
	}
	rpcs, err := rpcsToPB(list)
	if err != nil {
		return nil, unencodable(err)
	}
	return &pb.ProvisionResponse{Rpcs: rpcs}, nil
}

func deviceFromPB(d *pb.DeviceInfo) DeviceInfo {
	return DeviceInfo{
		ID:              d.GetId(),
		Manufacturer:    d.GetManufacturer(),
		OUI:             d.GetOui(),
		ProductClass:    d.GetProductClass(),
		SerialNumber:    d.GetSerialNumber(),
		SoftwareVersion: d.GetSoftwareVersion(),
		HardwareVersion: d.GetHardwareVersion(),
		Root:            d.GetRoot(),
	}
}

func paramsFromPB(m map[string]*pb.RawValue) map[string]Value {
	out := make(map[string]Value, len(m))
	for k, v := range m {
		out[k] = Value{Value: v.GetValue(), Type: v.GetType()}
	}
	return out
}

var accessToPB = map[Access]pb.Access{
	Read:      pb.Access_ACCESS_READ,
	Write:     pb.Access_ACCESS_WRITE,
	ReadWrite: pb.Access_ACCESS_READ_WRITE,
}

func describeToPB(d Description) *pb.DescribeResponse {
	out := &pb.DescribeResponse{
		Name:         wire.ValidUTF8(d.Name),
		Version:      wire.ValidUTF8(d.Version),
		ModelVersion: wire.ValidUTF8(d.ModelVersion),
		Match:        make([]*pb.Match, 0, len(d.Match)),
		Exposes:      make([]*pb.Expose, 0, len(d.Exposes)),
	}
	for _, m := range d.Match {
		out.Match = append(out.Match, &pb.Match{
			Manufacturer:    wire.ValidUTF8(m.Manufacturer),
			Oui:             wire.ValidUTF8(m.OUI),
			ProductClass:    wire.ValidUTF8(m.ProductClass),
			SoftwareVersion: wire.ValidUTF8(m.SoftwareVersion),
			HardwareVersion: wire.ValidUTF8(m.HardwareVersion),
		})
	}
	for _, e := range d.Exposes {
		out.Exposes = append(out.Exposes, &pb.Expose{
			Key:         wire.ValidUTF8(e.Key),
			Type:        wire.ValidUTF8(e.Type),
			Unit:        wire.ValidUTF8(e.Unit),
			Access:      accessToPB[e.Access], // an unknown access stays UNSPECIFIED and is refused
			Description: wire.ValidUTF8(e.Description),
		})
	}
	return out
}

func rpcsToPB(list []RPC) ([]*pb.RPC, error) {
	out := make([]*pb.RPC, 0, len(list))
	for i, r := range list {
		args, err := wire.ArgsToPB(r.Args)
		if err != nil {
			return nil, fmt.Errorf("rpc %d (%s): %w", i, r.Method, err)
		}
		out = append(out, &pb.RPC{Method: wire.ValidUTF8(r.Method), Args: args})
	}
	return out, nil
}
