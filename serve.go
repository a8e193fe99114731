package main

import (
	"context"
	"errors"
	"io"
)

// serve is `flowlab serve`: the playground. (Being written: see issue 4.)
func serve(ctx context.Context, args []string, stdout io.Writer) error {
	return errors.New("serve: not built yet")
}
