package mqtt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"go.etcd.io/bbolt"
)

// The client id generated for an installation lives in the store file, beside the outbox whose
// persistent session it keys.
var (
	clientIDBucket = []byte("mqtt.meta")
	clientIDKey    = []byte("client_id")
)

// InstallationClientID returns the client id of the installation that owns db, generating and
// storing "cwmp2mqtt-<hostname>-<8 hex digits>" the first time. It is stable across restarts (the
// broker keys the persistent session on it) and differs between two gateways on one host, which
// the host name alone did not: such gateways took each other's session over in a loop.
func InstallationClientID(db *bbolt.DB) (string, error) {
	var id string
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(clientIDBucket)
		if err != nil {
			return err
		}
		if v := b.Get(clientIDKey); len(v) > 0 {
			id = string(v)
			return nil
		}
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		id = DefaultClientID() + "-" + hex.EncodeToString(r[:])
		return b.Put(clientIDKey, []byte(id))
	})
	if err != nil {
		return "", fmt.Errorf("mqtt.client_id: generate the installation's id in the store: %w", err)
	}
	return id, nil
}
