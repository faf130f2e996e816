package auth

// Credentials looks up the password the ACS expects for a user name (checklist 16: per-device
// credentials are possible). ok=false means the user is unknown and is rejected.
type Credentials interface {
	Password(username string) (password string, ok bool)
}

// Static is one shared user name and password for every CPE of the site.
type Static struct {
	User, Pass string
}

// Password implements Credentials. Only the configured user name matches.
func (s Static) Password(username string) (string, bool) {
	if username != s.User {
		return "", false
	}
	return s.Pass, true
}

// Map holds per-device credentials: user name → password.
type Map map[string]string

// Password implements Credentials.
func (m Map) Password(username string) (string, bool) {
	p, ok := m[username]
	return p, ok
}

// Chain asks each Credentials in order and the first that knows the user wins. Put per-device
// credentials first so they override the shared ones: Chain{perDevice, Static{…}}.
type Chain []Credentials

// Password implements Credentials.
func (c Chain) Password(username string) (string, bool) {
	for _, creds := range c {
		if creds == nil {
			continue
		}
		if p, ok := creds.Password(username); ok {
			return p, true
		}
	}
	return "", false
}
