package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// fallbackMemory is the server's memory limit when the machine's memory
// cannot be read.
const fallbackMemory = 4 << 30

// defaultMemory is the server's default memory limit: half the machine's
// physical memory (MemTotal of /proc/meminfo), else fallbackMemory.
func defaultMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallbackMemory
	}
	defer f.Close()
	if total, ok := memTotal(f); ok {
		return total / 2
	}
	return fallbackMemory
}

// memTotal reads MemTotal from /proc/meminfo's format ("MemTotal: 16318480 kB").
func memTotal(r io.Reader) (int64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// byteSize is a flag of a number of bytes, with an optional binary unit:
// 4GiB, 512 MiB, 2g, 1073741824.
type byteSize int64

var byteSizePattern = regexp.MustCompile(`(?i)^([0-9]+(?:\.[0-9]+)?) ?(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$`)

func (b *byteSize) Set(s string) error {
	m := byteSizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return fmt.Errorf("%q is not a size like 4GiB or 512MiB", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return fmt.Errorf("%q is not a size like 4GiB or 512MiB", s)
	}
	shift := map[byte]uint{'b': 0, 'k': 10, 'm': 20, 'g': 30, 't': 40}[strings.ToLower(m[2] + "b")[0]]
	v := n * float64(int64(1)<<shift)
	if v < 1 || v > 1<<62 {
		return fmt.Errorf("%q is out of range", s)
	}
	*b = byteSize(v)
	return nil
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return strconv.FormatInt(n, 10)
}
