// Package translator is the Huawei translator: the standard TR-098/TR-181 mapping
// (plugins/sdk/standard) plus the X_HUAWEI_ extensions of Huawei home gateways, named after the
// BM632w WiMAX CPE data model (testdata/datamodel-huawei-bm632w-tr098.csv). It runs beside the
// bridge (CPE → cwmp → bridge → mqtt → platform) as the plugin process of plugins/huawei, and
// in process in tests.
//
// A vendor copying it changes three things: Match, the exposed keys (under the vendor's own
// namespace) and the bindings from keys to parameters.
package translator

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
)

// Name and Version are what Describe reports.
const (
	Name    = "huawei"
	Version = "1.0.0"
)

// Manufacturer, OUI and ProductClass as the BM632w reports them in its Inform DeviceId.
const (
	Manufacturer = "Huawei Technologies Co., Ltd."
	OUI          = "202BC1"
	ProductClass = "BM632w"
)

// Match selects Huawei devices by manufacturer or OUI; the full DeviceId of the BM632w is the
// most specific rule, so it wins over any broader rule of another translator.
var Match = []sdk.Match{
	{Manufacturer: Manufacturer, OUI: OUI, ProductClass: ProductClass},
	{OUI: OUI},
	{Manufacturer: Manufacturer},
}

// Translator is the standard translator configured with the Huawei extension.
type Translator struct {
	*standard.Translator
}

var _ sdk.Translator = (*Translator)(nil)

// New builds the translator; opts are the standard options (interval, boolean encoding …).
func New(opts standard.Options) *Translator {
	opts.Name, opts.Version, opts.Match = Name, Version, Match
	opts.Extensions = append(opts.Extensions, Extension)
	return &Translator{standard.New(opts)}
}
