package sim

import (
	"sync"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// cpeFault builds the SOAP fault a CPE answers with (TR-069 §A.5.2; faultcode per Table 59).
func cpeFault(code int, msg string) *soap.Fault {
	return &soap.Fault{SOAPCode: soap.DefaultSOAPCode(code), Code: code, String: msg}
}

// FaultPlan makes a CPE fail on demand, so tests can provoke any CPE fault. Rules by method name
// ("SetParameterValues", "Download" …) answer that RPC with the fault; "TransferComplete" makes
// the later TransferComplete report the code instead of success. Rules by parameter or object
// name fail any RPC that names it (GPV/SPV/GPN/GPA/SPA/AddObject/DeleteObject); an SPV gets the
// code as that parameter's SetParameterValuesFault. Safe for concurrent use.
type FaultPlan struct {
	mu      sync.Mutex
	methods map[string]FaultRule
	names   map[string]FaultRule
}

// FaultRule is one planned fault. Times > 0 fires that many times, then the rule is gone;
// 0 fires until cleared.
type FaultRule struct {
	Code   int
	String string
	Times  int
}

// FailMethod plans fault code for every (or the next Times) call of method.
func (p *FaultPlan) FailMethod(method string, r FaultRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.methods == nil {
		p.methods = map[string]FaultRule{}
	}
	p.methods[method] = r
}

// FailName plans fault code for RPCs naming name.
func (p *FaultPlan) FailName(name string, r FaultRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names == nil {
		p.names = map[string]FaultRule{}
	}
	p.names[name] = r
}

// Clear removes every rule.
func (p *FaultPlan) Clear() {
	p.mu.Lock()
	p.methods, p.names = nil, nil
	p.mu.Unlock()
}

func take(rules map[string]FaultRule, key string) (FaultRule, bool) {
	r, ok := rules[key]
	if !ok {
		return r, false
	}
	if r.Times > 0 {
		if r.Times--; r.Times == 0 {
			delete(rules, key)
		} else {
			rules[key] = r
		}
	}
	if r.String == "" {
		r.String = "planned fault"
	}
	return r, true
}

// method returns the planned fault of method, if any, consuming one use.
func (p *FaultPlan) method(method string) (FaultRule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return take(p.methods, method)
}

// name returns the planned fault of the first of names that has one, consuming one use.
func (p *FaultPlan) name(names ...string) (string, FaultRule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		if r, ok := take(p.names, n); ok {
			return n, r, true
		}
	}
	return "", FaultRule{}, false
}
