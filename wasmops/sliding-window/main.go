// Command sliding-window is a Flowlab operator: it counts the records of
// each key in a sliding window of processing time and, every slide, emits per
// key the count of the window that just ended (key, count in decimal), like
// the SlidingWindowOperator of Flink's blog post on backpressure. Config:
//
//	{"size": "10s", "slide": "1s"}
//
// (those are the defaults). Records cost little on arrival; the work lands
// when a window fires, and grows with the number of keys times size/slide.
package main

import (
	"time"

	"flowlab/wasmops/sdk"
)

func main() {}

var config = sdk.Window{
	Size:  sdk.Duration(10 * time.Second),
	Slide: sdk.Duration(time.Second),
}

func init() {
	sdk.Config(&config)
	sdk.SlidingWindow(&config, sdk.Count())
}
