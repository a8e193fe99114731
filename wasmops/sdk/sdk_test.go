//go:build !wasip1

package sdk

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setup gives a test a fresh SDK (nothing registered) and local host, with
// the clock at now.
func setup(t *testing.T, now int64) *localHost {
	t.Helper()
	reset := func() {
		registered, started, onTimer, configTarget, configFuncs, inbuf = nil, false, nil, nil, nil, nil
		local = newLocalHost()
	}
	reset()
	t.Cleanup(reset)
	local.now = func() int64 { return now }
	return local
}

func kv(key, value string) Record { return Record{Key: []byte(key), Value: []byte(value)} }

func emits(pairs ...string) []localRecord {
	var rs []localRecord
	for i := 0; i < len(pairs); i += 2 {
		rs = append(rs, localRecord{pairs[i], pairs[i+1]})
	}
	return rs
}

// feed calls flowlab_input and flowlab_process as the host does.
func feed(records ...Record) int32 {
	var b []byte
	for _, r := range records {
		b = AppendRecord(b, r)
	}
	copy(inputBuffer(len(b)), b)
	return callProcess(len(b))
}

func configure(config string) int32 {
	copy(inputBuffer(len(config)), config)
	return callInit(len(config))
}

func TestDecodeBatch(t *testing.T) {
	records := []Record{{TS: 1, Key: []byte("k"), Value: []byte("value")}, {TS: -5, Key: []byte{}, Value: []byte{}}, {TS: 1 << 40, Key: []byte("key"), Value: []byte{0, 1}}}
	var batch []byte
	for _, r := range records {
		batch = AppendRecord(batch, r)
	}
	var got []Record
	require.NoError(t, DecodeBatch(batch, func(r Record) error {
		got = append(got, r)
		return nil
	}))
	assert.Equal(t, records, got)

	stop := errors.New("stop")
	n := 0
	assert.Equal(t, stop, DecodeBatch(batch, func(Record) error { n++; return stop }))
	assert.Equal(t, 1, n)
}

func TestDecodeBatch_Errors(t *testing.T) {
	one := AppendRecord(nil, kv("key", "value"))
	huge := AppendRecord(nil, kv("k", "v"))
	huge[12], huge[13], huge[14], huge[15] = 0xff, 0xff, 0xff, 0xff
	tests := []struct {
		name  string
		batch []byte
		want  string
	}{
		{"short header", one[:15], "malformed batch: truncated record header at offset 0: 15 bytes left, want 16"},
		{"short value", one[:len(one)-1], "malformed batch: record at offset 0 has key_len 3 and val_len 5, but only 7 bytes follow its header"},
		{"second record", append(append([]byte{}, one...), one[:20]...), "malformed batch: record at offset 24 has key_len 3 and val_len 5, but only 4 bytes follow its header"},
		{"huge length", huge, "malformed batch: record at offset 0 has key_len 1 and val_len 4294967295, but only 2 bytes follow its header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeBatch(tt.batch, func(Record) error { return nil })
			assert.EqualError(t, err, tt.want)
		})
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendRecord(AppendRecord(nil, kv("a", "b")), kv("", "")))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, batch []byte) {
		var again []byte
		err := DecodeBatch(batch, func(r Record) error {
			again = AppendRecord(again, r)
			return nil
		})
		if err == nil && string(again) != string(batch) {
			t.Fatalf("decoded and encoded again: %x, want %x", again, batch)
		}
	})
}

func TestMap(t *testing.T) {
	h := setup(t, 0)
	Map(func(r Record) Record {
		r.Value = append(r.Value, '!')
		return r
	})
	assert.Equal(t, int32(0), configure("{}"))
	assert.Equal(t, int32(0), feed(kv("a", "1"), kv("b", "2")))
	assert.Equal(t, emits("a", "1!", "b", "2!"), h.emits)
}

func TestMapValue(t *testing.T) {
	h := setup(t, 0)
	h.quota = 2
	MapValue(func(v []byte) []byte { return append(v, '!') })
	assert.Equal(t, int32(0), feed(kv("a", "1"), kv("b", ""), kv("c", "3")))
	assert.Equal(t, emits("a", "1!", "b", "!"), h.emits, "the quota stops the batch")

	h.quota = 0
	batch := AppendRecord(nil, kv("k", "v"))
	copy(inputBuffer(len(batch)), batch)
	assert.Equal(t, int32(-1), callProcess(len(batch)-1))
	assert.Equal(t, []string{"malformed batch: record at offset 0 has key_len 1 and val_len 1, but only 1 bytes follow its header"}, h.fails)
	assert.PanicsWithValue(t, "sdk.Map: this module already registered sdk.MapValue; a module is exactly one operator", func() {
		Map(func(r Record) Record { return r })
	})
}

func TestFilter(t *testing.T) {
	h := setup(t, 0)
	Filter(func(r Record) bool { return len(r.Value) > 1 })
	assert.Equal(t, int32(0), feed(kv("a", "1"), kv("b", "22"), kv("c", "")))
	assert.Equal(t, emits("b", "22"), h.emits)
}

func TestFlatMap(t *testing.T) {
	h := setup(t, 0)
	FlatMap(func(r Record, out *Output) error {
		if string(r.Value) == "bad" {
			return errors.New("bad record")
		}
		for _, w := range strings.Fields(string(r.Value)) {
			out.EmitString(w, string(r.Key))
		}
		return nil
	})
	assert.Equal(t, int32(0), feed(kv("1", "a b"), kv("2", ""), kv("3", "c")))
	assert.Equal(t, emits("a", "1", "b", "1", "c", "3"), h.emits)

	assert.Equal(t, int32(-1), feed(kv("4", "d"), kv("5", "bad"), kv("6", "e")))
	assert.Equal(t, []string{"bad record"}, h.fails)
	assert.Equal(t, emits("a", "1", "b", "1", "c", "3", "d", "4"), h.emits)
}

// The SDK learns that the quota ran out when it hands over its output
// buffer: here, every second record (two values of 40 KiB fill it).
func TestOutput_Quota(t *testing.T) {
	h := setup(t, 0)
	h.quota = 3
	calls := 0
	FlatMap(func(r Record, out *Output) error {
		calls++
		for range 2 {
			out.Emit(r.Key, r.Value)
		}
		return nil
	})
	v := strings.Repeat("v", 40<<10)
	assert.Equal(t, int32(0), feed(kv("a", v), kv("b", v), kv("c", v), kv("d", v)))
	assert.Equal(t, emits("a", v, "a", v, "b", v), h.emits)
	assert.Equal(t, 2, calls, "no record fed after the quota ran out")

	// The quota is per call.
	assert.Equal(t, int32(0), feed(kv("e", "")))
	assert.Len(t, h.emits, 5)
}

// Output records have the timestamps of their input records (of the timer,
// in a timer), and a call's output crosses to the host once: the records a
// map leaves in place where they lie, those it changes copied in between,
// in order.
func TestOutput_Batched(t *testing.T) {
	rec := func(ts int64, key, value string) Record {
		return Record{TS: ts, Key: []byte(key), Value: []byte(value)}
	}
	in := []Record{rec(5, "a", "x1"), rec(3, "b", "y2"), rec(9, "c", "x3"), rec(4, "d", "x4"), rec(7, "e", "y5")}
	tests := []struct {
		name     string
		register func()
		want     []localRecord
		ts       []int64
	}{
		{"MapValue", func() {
			MapValue(func(v []byte) []byte {
				if v[0] == 'x' {
					v[0] = 'X' // in place
					return v
				}
				return append([]byte("new "), v...)
			})
		}, emits("a", "X1", "b", "new y2", "c", "X3", "d", "X4", "e", "new y5"), []int64{5, 3, 9, 4, 7}},
		{"Map", func() {
			Map(func(r Record) Record {
				if r.Value[0] == 'x' {
					return r
				}
				return Record{TS: 1, Key: r.Value, Value: r.Key}
			})
		}, emits("a", "x1", "y2", "b", "c", "x3", "d", "x4", "y5", "e"), []int64{5, 3, 9, 4, 7}},
		{"Filter", func() { Filter(func(r Record) bool { return r.Value[0] == 'x' }) },
			emits("a", "x1", "c", "x3", "d", "x4"), []int64{5, 9, 4}},
		{"FlatMap", func() {
			FlatMap(func(r Record, out *Output) error {
				out.Emit(r.Key, r.Value)
				return nil
			})
		}, emits("a", "x1", "b", "y2", "c", "x3", "d", "x4", "e", "y5"), []int64{5, 3, 9, 4, 7}},
		{"ProcessBatch", func() {
			ProcessBatch(func(in *Batch, out *Output) error {
				for in.Next() {
					switch v := in.Value(); v[0] {
					case 'x':
						v[0] = 'X'
						out.Keep(in) // in place
						if string(v) == "X3" {
							out.EmitString("after", "X3") // a record of its own after it
						}
					default:
						out.Emit(in.Key(), append([]byte("new "), v...))
					}
				}
				out.EmitString("end", "") // after the last: its timestamp
				return nil
			})
		}, emits("a", "X1", "b", "new y2", "c", "X3", "after", "X3", "d", "X4", "e", "new y5", "end", ""), []int64{5, 3, 9, 9, 4, 7, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, 0)
			tt.register()
			assert.Equal(t, int32(0), feed(in...))
			assert.Equal(t, tt.want, h.emits)
			assert.Equal(t, tt.ts, h.ts)
			assert.Equal(t, 1, h.batches, "one crossing")
		})
	}
	t.Run("Filter/none", func(t *testing.T) {
		h := setup(t, 0)
		Filter(func(Record) bool { return false })
		assert.Equal(t, int32(0), feed(in...))
		assert.Zero(t, h.batches, "no crossing")
	})
	t.Run("ProcessBatch/all", func(t *testing.T) {
		h := setup(t, 0)
		var b []byte
		for _, r := range in {
			b = AppendRecord(b, r)
		}
		copy(inputBuffer(len(b)), b)
		ProcessBatch(func(in *Batch, out *Output) error {
			for in.Next() {
				out.Keep(in)
			}
			assert.Equal(t, 5, out.Emitted())
			return nil
		})
		assert.Equal(t, int32(0), callProcess(len(b)))
		assert.Equal(t, emits("a", "x1", "b", "y2", "c", "x3", "d", "x4", "e", "y5"), h.emits)
		assert.Equal(t, 1, h.batches)
		assert.Same(t, &inbuf[0], &h.sent[0][0], "handed over where it lies")
	})
	t.Run("OnTimer", func(t *testing.T) {
		h := setup(t, 0)
		KeyedProcess(func(c *Context, r Record) error {
			c.SetTimer(100)
			return nil
		})
		OnTimer(func(c *Context, ts int64) error {
			c.Emit(c.Key(), nil)
			return nil
		})
		assert.Equal(t, int32(0), feed(in[:2]...))
		assert.Equal(t, int32(0), callTimer(100))
		assert.Equal(t, emits("a", "", "b", ""), h.emits)
		assert.Equal(t, []int64{100, 100}, h.ts)
	})
}

// A ProcessBatch function reads a batch a record at a time; an error fails
// the call after what it emitted before; a malformed batch is read up to the
// malformed record, then fails the call; nothing needs a current record.
func TestProcessBatch(t *testing.T) {
	h := setup(t, 0)
	ProcessBatch(func(in *Batch, out *Output) error {
		out.EmitString("first", "") // before Next: fine, even in an empty batch
		for in.Next() {
			if string(in.Value()) == "bad" {
				return errors.New("bad record " + string(in.Key()))
			}
			if string(in.Key()) == "stop" {
				return nil // the rest is not read, and need not be
			}
			assert.Equal(t, Record{TS: in.TS(), Key: in.Key(), Value: in.Value()}, in.Record())
			out.Keep(in)
		}
		return nil
	})
	assert.Equal(t, int32(0), feed())
	assert.Equal(t, int32(-1), feed(kv("1", "a"), kv("2", "bad"), kv("3", "c")))
	assert.Equal(t, []string{"bad record 2"}, h.fails)
	assert.Equal(t, emits("first", "", "first", "", "1", "a"), h.emits)

	batch := AppendRecord(AppendRecord(nil, kv("4", "d")), kv("5", "e"))
	copy(inputBuffer(len(batch)), batch)
	assert.Equal(t, int32(-1), callProcess(len(batch)-1))
	assert.Equal(t, "malformed batch: record at offset 18 has key_len 1 and val_len 1, but only 1 bytes follow its header", h.fails[1])
	assert.Equal(t, emits("first", "", "first", "", "1", "a", "first", "", "4", "d"), h.emits)

	h.emits = nil
	assert.Equal(t, int32(0), feed(kv("stop", ""), kv("6", "f")))
	batch = AppendRecord(AppendRecord(nil, kv("stop", "")), kv("7", "g"))
	copy(inputBuffer(len(batch)), batch)
	assert.Equal(t, int32(-1), callProcess(len(batch)-1), "a malformed rest fails the call even if it is not read")
	assert.Equal(t, "malformed batch: record at offset 20 has key_len 1 and val_len 1, but only 1 bytes follow its header", h.fails[2])
	assert.Equal(t, emits("first", "", "first", ""), h.emits)
}

func TestCall_Panic(t *testing.T) {
	h := setup(t, 0)
	Map(func(r Record) Record { panic("boom") })
	assert.Equal(t, int32(-2), feed(kv("a", "")))
	require.Len(t, h.fails, 1)
	assert.True(t, strings.HasPrefix(h.fails[0], "panic: boom\n\ngoroutine "), h.fails[0])
}

func TestCall_Errors(t *testing.T) {
	h := setup(t, 0)
	assert.Equal(t, int32(-1), feed(kv("a", "")))
	assert.Equal(t, int32(-1), callProcess(1<<20))
	OnTimer(func(*Context, int64) error { return nil })
	Map(func(r Record) Record { return r })
	assert.Equal(t, int32(-1), callTimer(5))
	assert.Equal(t, []string{
		"no operator registered: call sdk.Map, sdk.MapValue, sdk.Filter, sdk.FlatMap, sdk.ProcessBatch, sdk.KeyedProcess or sdk.SlidingWindow from an init function",
		"the host passed a length of 1048576 bytes, but the input buffer (from flowlab_input) holds 16384",
		"sdk.OnTimer needs sdk.KeyedProcess, but this module registered sdk.Map",
	}, h.fails)
}

func TestRegister_Twice(t *testing.T) {
	setup(t, 0)
	Map(func(r Record) Record { return r })
	assert.PanicsWithValue(t, "sdk.Filter: this module already registered sdk.Map; a module is exactly one operator", func() {
		Filter(func(Record) bool { return true })
	})
	setup(t, 0)
	assert.PanicsWithValue(t, "sdk.FlatMap: the function is nil", func() { FlatMap(nil) })
}

func TestInputBuffer_Reused(t *testing.T) {
	setup(t, 0)
	a := inputBuffer(100)
	b := inputBuffer(16 << 10)
	assert.Same(t, &a[0], &b[0])
	c := inputBuffer(20 << 10)
	assert.Len(t, c, 25<<10)
	assert.Same(t, &c[0], &inputBuffer(10)[0])
}

// A Map that reuses its buffers costs no allocation per record or batch, nor
// does the SDK for any operator.
func TestMap_Allocs(t *testing.T) {
	var buf []byte
	for name, register := range map[string]func(){
		"Map": func() {
			Map(func(r Record) Record {
				buf = append(buf[:0], r.Value...)
				r.Value = buf
				return r
			})
		},
		"MapValue": func() {
			MapValue(func(v []byte) []byte {
				buf = append(buf[:0], v...)
				return buf
			})
		},
		"Filter": func() { Filter(func(r Record) bool { return len(r.Value) > 0 }) },
		"ProcessBatch": func() {
			ProcessBatch(func(in *Batch, out *Output) error {
				for in.Next() {
					if in.TS()%2 == 0 {
						out.Keep(in)
					} else {
						out.Emit(in.Key(), in.Value())
					}
				}
				return nil
			})
		},
		"FlatMap": func() { FlatMap(func(r Record, out *Output) error { out.Emit(r.Key, r.Value); return nil }) },
	} {
		t.Run(name, func(t *testing.T) {
			h := setup(t, 0)
			h.keep = false
			register()
			var batch []byte
			for range 100 {
				batch = AppendRecord(batch, kv("key", "some value"))
			}
			copy(inputBuffer(len(batch)), batch)
			callProcess(len(batch))
			allocs := testing.AllocsPerRun(100, func() {
				if callProcess(len(batch)) != 0 {
					t.Fatal(h.fails)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestKeyedProcess_Timers(t *testing.T) {
	h := setup(t, 1000)
	KeyedProcess(func(c *Context, r Record) error {
		c.SetTimer(c.Now() + 500)
		c.SetTimer(c.Now() + int64(len(r.Value)))
		return nil
	})
	var fired []string
	OnTimer(func(c *Context, ts int64) error {
		fired = append(fired, string(c.Key())+"@"+itoa(ts))
		c.Emit(c.Key(), []byte(itoa(ts)))
		return nil
	})
	assert.Equal(t, int32(0), feed(kv("b", "xxx"), kv("a", "xxxxxxx"), kv("b", "xxxxxxx")))
	assert.Equal(t, []int64{1500, 1003, 1007}, h.timers, "the host is asked once per time")

	assert.Equal(t, int32(0), callTimer(1003))
	assert.Equal(t, []string{"b@1003"}, fired)
	assert.Equal(t, int32(0), callTimer(1500))
	assert.Equal(t, []string{"b@1003", "a@1007", "b@1007", "a@1500", "b@1500"}, fired, "every timer due, by time then key")
	assert.Equal(t, emits("b", "1003", "a", "1007", "b", "1007", "a", "1500", "b", "1500"), h.emits)
	assert.Equal(t, int32(0), callTimer(1500), "a time already handled fires nothing")
	assert.Len(t, fired, 5)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestKeyedProcess_Error(t *testing.T) {
	h := setup(t, 0)
	KeyedProcess(func(c *Context, r Record) error { return errors.New("no " + string(c.Key())) })
	assert.Equal(t, int32(-1), feed(kv("a", "")))
	assert.Equal(t, []string{"no a"}, h.fails)
}
