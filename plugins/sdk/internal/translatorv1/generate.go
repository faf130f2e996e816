// Package translatorv1 is the generated Go code of plugins/sdk/proto/translator/v1/translator.proto.
// It is committed so that building the gateway needs no protoc; regenerate with `go generate`.
package translatorv1

//go:generate sh -c "PATH=$PATH:$(go env GOPATH)/bin protoc -I ../../proto --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative translator/v1/translator.proto && mv translator/v1/*.go . && rmdir -p translator/v1"
