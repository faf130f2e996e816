package standard

import (
	"fmt"
	"strconv"
	"time"
)

// Option names a plugin process reads from the gateway configuration
// (plugins.translators.<name>.options, see sdk.Options).
const (
	OptionPeriodicInformInterval = "periodic_inform_interval" // seconds or a Go duration ("5m")
	OptionBoolAsNumber           = "bool_as_number"           // true / false
	OptionParameterKey           = "parameter_key"
)

// ParseOptions reads Options from plugin options; unknown names are ignored, bad values are an
// error that names the option.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	if s := m[OptionPeriodicInformInterval]; s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			o.PeriodicInformInterval = time.Duration(n) * time.Second
		} else if d, err := time.ParseDuration(s); err == nil {
			o.PeriodicInformInterval = d
		} else {
			return o, fmt.Errorf("option %s: %q is neither seconds nor a duration", OptionPeriodicInformInterval, s)
		}
		if o.PeriodicInformInterval < time.Second {
			return o, fmt.Errorf("option %s: %q is below 1 s", OptionPeriodicInformInterval, s)
		}
	}
	if s := m[OptionBoolAsNumber]; s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return o, fmt.Errorf("option %s: %q is not a boolean", OptionBoolAsNumber, s)
		}
		o.BoolAsNumber = b
	}
	o.ParameterKey = m[OptionParameterKey]
	return o, nil
}
