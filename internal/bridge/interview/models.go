package interview

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	bolt "go.etcd.io/bbolt"
)

// bucketModels holds the names each model's discovery found: Key → stored JSON.
var bucketModels = []byte("models")

// Key names the data model devices share: OUI, ProductClass and SoftwareVersion.
func Key(oui, productClass, softwareVersion string) string {
	return oui + "\x00" + productClass + "\x00" + softwareVersion
}

// Printable is a Key for a log line.
func Printable(key string) string { return strings.ReplaceAll(key, "\x00", "/") }

// stored is the value of bucket "models".
type stored struct {
	Names      []string  `json:"names"`
	Discovered time.Time `json:"discovered"`
	Device     string    `json:"device"` // the device it was discovered on
}

// Models are the data models interviews found, in memory and in the store file, and which
// device discovers each model key now. Its lock is its own: taken after the bridge's, never
// held while calling out.
type Models struct {
	db          *bolt.DB
	mu          sync.Mutex
	known       map[string]*sdk.DataModel // nil: the store has none (it is not asked again)
	discovering map[string]string         // model key → device id
}

// OpenModels creates bucket "models" when it is missing.
func OpenModels(db *bolt.DB) (*Models, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketModels); err != nil {
			return fmt.Errorf("store: create bucket %s: %w", bucketModels, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Models{db: db, known: map[string]*sdk.DataModel{}, discovering: map[string]string{}}, nil
}

// Loaded is the data model of key from memory; nil when not loaded or none is stored.
func (m *Models) Loaded(key string) *sdk.DataModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.known[key]
}

// Get returns the data model of key from memory or the store; nil when none. A store with none
// is remembered: it is not asked again.
func (m *Models) Get(key string) (*sdk.DataModel, error) {
	m.mu.Lock()
	model, ok := m.known[key]
	m.mu.Unlock()
	if ok {
		return model, nil
	}
	var s *stored
	err := m.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketModels).Get([]byte(key))
		if v == nil {
			return nil
		}
		s = &stored{}
		return json.Unmarshal(v, s)
	})
	if err != nil {
		return nil, err
	}
	if s != nil {
		model = sdk.NewDataModel(s.Names)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// A sibling's discovery may have found the model while this read ran: a "none" read before
	// it must not hide it (siblings would discover again until the next restart).
	if found := m.known[key]; found != nil {
		return found, nil
	}
	m.known[key] = model
	return model, nil
}

// Found keeps the names a discovery found in memory; Store writes them.
func (m *Models) Found(key string, model *sdk.DataModel) {
	m.mu.Lock()
	m.known[key] = model
	m.mu.Unlock()
}

// Store writes the names of key, found at now on device, for the siblings to come.
func (m *Models) Store(key string, model *sdk.DataModel, device string, now time.Time) error {
	v, err := json.Marshal(&stored{Names: model.Names(), Discovered: now, Device: device})
	if err != nil {
		return err
	}
	return m.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketModels).Put([]byte(key), v)
	})
}

// Claim makes device the one discovering key.
func (m *Models) Claim(key, device string) {
	m.mu.Lock()
	m.discovering[key] = device
	m.mu.Unlock()
}

// Discoverer is the device last made the one discovering key ("" when none); its owner checks
// that it still is (a removed device, or an interview ended, leaves its name behind).
func (m *Models) Discoverer(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.discovering[key]
}

// Release ends the discovery of key.
func (m *Models) Release(key string) {
	m.mu.Lock()
	delete(m.discovering, key)
	m.mu.Unlock()
}
