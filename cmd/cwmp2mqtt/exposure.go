package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"go.yaml.in/yaml/v3"
)

// isLoopbackListen reports whether a listen address (host:port) is reachable only from this
// host: "localhost", 127.0.0.0/8 or ::1. An empty host (":1883"), 0.0.0.0, :: or any other
// address or name is reachable from elsewhere.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkExposure is the rule every listener of the gateway that serves people rather than CPEs
// follows (the embedded broker; the admin listener too): off loopback it needs credentials, or an
// explicit allowAnonymousKey: true, which the caller warns about at start-up. The error names the
// keys that fix it.
func checkExposure(listenKey, addr string, hasCredentials, allowAnonymous bool, allowAnonymousKey string, credentialKeys ...string) error {
	if hasCredentials || allowAnonymous || isLoopbackListen(addr) {
		return nil
	}
	return fmt.Errorf("%s: %q is reachable from other hosts and no credentials are configured: set %s, or %s: true (anyone on the network gets in), or listen on localhost",
		listenKey, addr, strings.Join(credentialKeys, " or "), allowAnonymousKey)
}

// gatewayBrokerUser is the embedded broker account of the gateway itself (its password is random
// per start): the one account that publishes the gateway's topics.
const gatewayBrokerUser = "cwmp2mqtt-gateway"

// brokerUsersFile reads mqtt.embedded.users_file: a YAML map of user name to {role, password_hash}
// (or password_hash_file), role platform or viewer, the hash bcrypt (htpasswd -nbB user PASSWORD).
func brokerUsersFile(path string) (map[string]mqtt.BrokerUser, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]struct {
		Role             string `yaml:"role"`
		PasswordHash     string `yaml:"password_hash"`
		PasswordHashFile string `yaml:"password_hash_file"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("want a YAML map of user: {role, password_hash}: %w", err)
	}
	users := make(map[string]mqtt.BrokerUser, len(m))
	for name, e := range m {
		u, err := brokerUser(name, e.Role, e.PasswordHash, e.PasswordHashFile)
		if err != nil {
			return nil, err
		}
		users[name] = u
	}
	return users, nil
}

// brokerUser checks one account of the embedded broker.
func brokerUser(name, role, hash, hashFile string) (mqtt.BrokerUser, error) {
	if name == "" || name == gatewayBrokerUser {
		return mqtt.BrokerUser{}, fmt.Errorf("user %q: name empty or reserved for the gateway", name)
	}
	r, err := mqtt.ParseRole(role)
	if err != nil {
		return mqtt.BrokerUser{}, fmt.Errorf("user %q: %w", name, err)
	}
	if hashFile != "" {
		b, err := os.ReadFile(hashFile)
		if err != nil {
			return mqtt.BrokerUser{}, fmt.Errorf("user %q: %w", name, err)
		}
		hash = strings.TrimSpace(string(b))
	}
	h := []byte(strings.TrimSpace(hash))
	if err := mqtt.CheckPasswordHash(h); err != nil {
		return mqtt.BrokerUser{}, fmt.Errorf("user %q: password_hash %w", name, err)
	}
	return mqtt.BrokerUser{PasswordHash: h, Role: r}, nil
}
