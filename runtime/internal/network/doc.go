// Package network moves serialized records between subtasks the way Flink's
// network stack does: fixed-size buffers from bounded pools, per-channel
// credit-based flow control with exclusive buffers per channel and floating
// buffers per gate handed out by backlog, and partial buffers flushed by the
// sender.
//
// A sender fills buffers from its local Pool through a Writer; a finished
// buffer is transferred to the receiver only while the channel has credit,
// that is a free receiver buffer, and waits in the channel's backlog
// otherwise. Transfer hands the bytes to the receiver's buffer by swapping
// memory with it and returns the sender's buffer to its pool at once, so
// every byte in flight sits in memory that the pools and gates hold: memory is
// bounded by configuration, never by rate.
package network
