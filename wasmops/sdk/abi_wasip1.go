//go:build wasip1

package sdk

import "unsafe"

// The exports of ABI v1. //go:wasmexport works from any package, so an
// operator's main package only has to import the SDK.

//go:wasmexport flowlab_input
func flowlabInput(size int32) int32 {
	b := inputBuffer(int(size))
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmexport flowlab_process
func flowlabProcess(n int32) int32 { return callProcess(int(n)) }

//go:wasmexport flowlab_init
func flowlabInit(n int32) int32 { return callInit(int(n)) }

//go:wasmexport flowlab_timer
func flowlabTimer(ts int64) int32 { return callTimer(ts) }

// The imports of ABI v1.1, module "flowlab". The SDK emits with emit_batch
// only: a record costs an append to its output buffer, not a host call.

//go:wasmimport flowlab emit_batch
//go:noescape
func emitBatch(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport flowlab fail
//go:noescape
func fail(ptr unsafe.Pointer, n uint32)

//go:wasmimport flowlab log
//go:noescape
func log(ptr unsafe.Pointer, n uint32)

//go:wasmimport flowlab now_ms
func nowMs() int64

//go:wasmimport flowlab timer
func timer(ts int64)

//go:wasmimport flowlab state_get
//go:noescape
func stateGet(keyPtr unsafe.Pointer, keyLen uint32, dst unsafe.Pointer, dstCap uint32) int32

//go:wasmimport flowlab state_put
//go:noescape
func statePut(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32) int32

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func hostEmitBatch(b []byte) int32 { return emitBatch(ptr(b), uint32(len(b))) }

func hostBeginCall() {}

func hostFail(msg []byte) { fail(ptr(msg), uint32(len(msg))) }
func hostLog(msg []byte)  { log(ptr(msg), uint32(len(msg))) }
func hostNow() int64      { return nowMs() }
func hostTimer(ts int64)  { timer(ts) }

func hostStateGet(key, dst []byte) int32 {
	return stateGet(ptr(key), uint32(len(key)), ptr(dst), uint32(len(dst)))
}

func hostStatePut(key, value []byte) int32 {
	return statePut(ptr(key), uint32(len(key)), ptr(value), uint32(len(value)))
}

// mapFields returns fn as a function of Record's fields: the same function,
// called without copying a Record in and out through the Go stack. On wasm,
// Go passes arguments and results in memory (ABI0), a struct laid out as
// its fields would be, so both types have the same frame layout; the
// compiler copies a Record argument or result of 56 bytes with memory.copy,
// which wazero runs as a call of the Go runtime's memmove.
func mapFields(fn func(Record) Record) func(ts int64, key, value []byte) (int64, []byte, []byte) {
	return *(*func(int64, []byte, []byte) (int64, []byte, []byte))(unsafe.Pointer(&fn))
}

// filterFields returns fn as a function of Record's fields, as mapFields.
func filterFields(fn func(Record) bool) func(ts int64, key, value []byte) bool {
	return *(*func(int64, []byte, []byte) bool)(unsafe.Pointer(&fn))
}
