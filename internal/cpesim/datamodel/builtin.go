package datamodel

import (
	"bytes"
	"embed"
	"fmt"
	"sync"
)

// models/tr181.csv is generated from the Broadband Forum's TR-181 CWMP full XML
// (tr-181-2-17-0-cwmp-full.xml), which is not part of the repository: TR181_SPEC names it.
//go:generate go run ./gen -spec $TR181_SPEC -out models/tr181.csv

//go:embed models/*.csv
var models embed.FS

// builtin parses an embedded model once; callers get clones.
type builtin struct {
	file  string
	once  sync.Once
	model *Model
	err   error
}

func (b *builtin) load() (*Model, error) {
	b.once.Do(func() {
		data, err := models.ReadFile("models/" + b.file)
		if err != nil {
			b.err = err
			return
		}
		if b.model, b.err = LoadCSV(bytes.NewReader(data)); b.err != nil {
			b.err = fmt.Errorf("%s: %w", b.file, b.err)
		}
	})
	if b.err != nil {
		return nil, b.err
	}
	return b.model.Clone(), nil
}

var (
	huawei = builtin{file: "huawei-bm632w-tr098.csv"}
	tr181  = builtin{file: "tr181.csv"}
)

// LoadTR098Huawei returns the InternetGatewayDevice:1.1 model of a real Huawei BM632w (a dump of
// 792 parameters with the device's values).
func LoadTR098Huawei() (*Model, error) { return huawei.load() }

// LoadTR181 returns a Device:2 model generated from TR-181 2.17 (see ./gen).
func LoadTR181() (*Model, error) { return tr181.load() }
