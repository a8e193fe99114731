package handlers

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"flowlab/runtime/spec"
)

// errorsBody is every error response, as Flink's REST API answers: a list of messages.
type errorsBody struct {
	Errors []string `json:"errors"`
	// Details locate spec errors (a line and a field of the spec) and
	// compile errors of a built operator (a line and a column of its source).
	Details []errorDetail `json:"details,omitempty"`
}

type errorDetail struct {
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, errorsBody{Errors: msgs})
}

// writeError answers err: spec errors one per line with their places,
// limits as 429, anything else with status.
func writeError(w http.ResponseWriter, status int, err error) {
	var errs spec.Errors
	var lim *limitError
	switch {
	case errors.As(err, &errs):
		body := errorsBody{}
		for _, e := range errs {
			body.Errors = append(body.Errors, e.Error())
			body.Details = append(body.Details, errorDetail{Line: e.Line, Field: e.Field, Message: e.Msg})
		}
		writeJSON(w, http.StatusBadRequest, body)
	case errors.As(err, &lim):
		if lim.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(lim.retryAfter.Seconds()))))
		}
		writeErrors(w, cmp.Or(lim.status, http.StatusTooManyRequests), lim.Error())
	default:
		writeErrors(w, status, err.Error())
	}
}

// limitError is a request refused by a limit of Config: 429 unless status
// says otherwise (400 for a job too large to ever run, 503 for a full
// server), with Retry-After when retryAfter is set.
type limitError struct {
	msg        string
	status     int
	retryAfter time.Duration
}

func (e *limitError) Error() string { return e.msg }

// bodyError answers a body that could not be read or decoded: 413 naming
// the limit when it was larger than limit (http.MaxBytesReader's error),
// else 400 with what went wrong. what names the body: "the spec".
func bodyError(w http.ResponseWriter, err error, what string, limit int64) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than the limit of %s", what, spec.FormatBytes(limit)))
		return
	}
	var wrongType *json.UnmarshalTypeError
	if errors.As(err, &wrongType) && wrongType.Field != "" { // not Go's names of the types
		err = fmt.Errorf("%s: want %s, got %s", wrongType.Field, jsonKind(wrongType.Type), wrongType.Value)
	}
	writeErrors(w, http.StatusBadRequest, fmt.Sprintf("%s is not valid: %v", what, err))
}

// jsonKind names what JSON a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.Kind().String()
}
