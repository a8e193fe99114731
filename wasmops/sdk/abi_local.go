//go:build !wasip1

package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
	"unsafe"
)

// On platforms other than wasip1 there is no Wasm host: the SDK runs against
// an in-process one, localHost, so that its logic (and an operator's) can be
// tested with go test on the build machine. It keeps what the imports of ABI
// v1.1 would give the host.

// localHost is the in-process host of non-wasip1 builds.
type localHost struct {
	now     func() int64      // now_ms
	quota   int               // records emitted per call; 0: no limit
	emits   []localRecord     // emitted records
	ts      []int64           // their timestamps
	batches int               // calls of emit_batch
	sent    [][]byte          // what they were given, if keep
	fails   []string          // messages given to fail
	logs    []string          // log entries
	timers  []int64           // times given to timer
	state   map[string][]byte // keyed state
	ncall   int               // records emitted in the call under way
	keep    bool              // keep emitted records in emits
}

type localRecord struct{ Key, Value string }

func newLocalHost() *localHost {
	return &localHost{
		now:   func() int64 { return time.Now().UnixMilli() },
		state: map[string][]byte{},
		keep:  true,
	}
}

var local = newLocalHost()

func init() {
	// Batch reads a record's header with native loads, as on wasm.
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 || unsafe.Sizeof(0) != 8 {
		panic("sdk: the in-process host needs a 64-bit little-endian machine, as wasm is")
	}
}

func hostBeginCall() { local.ncall = 0 }

// errQuota stops hostEmitBatch at the quota.
var errQuota = errors.New("quota")

// hostEmitBatch emits the records up to the quota, as the host does, and
// returns their number or -1 if the batch holds more.
func hostEmitBatch(b []byte) int32 {
	local.batches++
	if local.keep {
		local.sent = append(local.sent, b)
	}
	n := int32(0)
	err := DecodeBatch(b, func(r Record) error {
		if local.quota > 0 && local.ncall >= local.quota {
			return errQuota
		}
		local.ncall++
		n++
		if local.keep {
			local.emits = append(local.emits, localRecord{string(r.Key), string(r.Value)})
			local.ts = append(local.ts, r.TS)
		}
		return nil
	})
	switch {
	case err == errQuota:
		return -1
	case err != nil:
		panic("emit_batch: " + err.Error()) // the host would abort the call
	}
	return n
}

func hostFail(msg []byte) { local.fails = append(local.fails, string(msg)) }

func hostLog(msg []byte) { local.logs = append(local.logs, string(msg)) }

func hostNow() int64     { return local.now() }
func hostTimer(ts int64) { local.timers = append(local.timers, ts) }

func hostStateGet(key, dst []byte) int32 {
	v, ok := local.state[string(key)]
	if !ok {
		return -1
	}
	copy(dst, v)
	return int32(len(v))
}

func hostStatePut(key, value []byte) int32 {
	local.state[string(key)] = bytes.Clone(value)
	return 0
}

// mapFields returns fn as a function of Record's fields (see the wasip1
// version).
func mapFields(fn func(Record) Record) func(ts int64, key, value []byte) (int64, []byte, []byte) {
	return func(ts int64, key, value []byte) (int64, []byte, []byte) {
		r := fn(Record{TS: ts, Key: key, Value: value})
		return r.TS, r.Key, r.Value
	}
}

// filterFields returns fn as a function of Record's fields (see the wasip1
// version).
func filterFields(fn func(Record) bool) func(ts int64, key, value []byte) bool {
	return func(ts int64, key, value []byte) bool { return fn(Record{TS: ts, Key: key, Value: value}) }
}
