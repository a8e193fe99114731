package main

import (
	"sort"
	"strconv"
)

// The IP-to-country table: geoRanges ranges that cover every IPv4 address,
// each with a country, made up once from a fixed seed. "index" keeps the
// ranges' first addresses sorted, "csv" the table as its CSV text, one
// "first,last,country" row a line, as a GeoIP database ships it.
const geoRanges = 3_000

var countries = []string{
	"AR", "AT", "AU", "BE", "BR", "CA", "CH", "CL", "CN", "CO", "CZ", "DE", "DK", "EG", "ES", "FI",
	"FR", "GB", "GR", "HU", "ID", "IE", "IN", "IT", "JP", "KE", "KR", "MX", "NG", "NL", "NO", "NZ",
	"PL", "PT", "RO", "SE", "SG", "TH", "TR", "UA", "US", "VN", "ZA",
}

var (
	geoStarts  []uint32 // "index": first address of each range, ascending
	geoCountry []uint8  // "index": country of each range (index into countries)
	geoCSV     []byte   // "csv": the table's text
)

// rangeOf is the first address and the country of range i.
func rangeOf(i int) (uint32, uint8) {
	h := uint64(i+1) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	return uint32(uint64(i) << 32 / geoRanges), uint8(h % uint64(len(countries)))
}

// buildGeo builds the table the config's geo implementation reads.
func buildGeo() {
	geoStarts, geoCountry, geoCSV = nil, nil, nil
	if config.Geo == "index" {
		geoStarts = make([]uint32, geoRanges)
		geoCountry = make([]uint8, geoRanges)
		for i := range geoRanges {
			geoStarts[i], geoCountry[i] = rangeOf(i)
		}
		return
	}
	geoCSV = make([]byte, 0, geoRanges*34)
	for i := range geoRanges {
		first, c := rangeOf(i)
		last := uint32(1<<32 - 1)
		if i+1 < geoRanges {
			next, _ := rangeOf(i + 1)
			last = next - 1
		}
		geoCSV = appendIP(geoCSV, first)
		geoCSV = append(geoCSV, ',')
		geoCSV = appendIP(geoCSV, last)
		geoCSV = append(geoCSV, ',')
		geoCSV = append(geoCSV, countries[c]...)
		geoCSV = append(geoCSV, '\n')
	}
}

func appendIP(b []byte, ip uint32) []byte {
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(ip>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return b
}

// geoFromIndex finds the range of addr by binary search.
//
//go:noinline
func geoFromIndex(addr uint32) string {
	i := sort.Search(len(geoStarts), func(i int) bool { return geoStarts[i] > addr }) - 1
	if i < 0 {
		return "--"
	}
	return countries[geoCountry[i]]
}

// geoFromCSV reads the table's rows from the top until one holds addr.
//
//go:noinline
func geoFromCSV(addr uint32) string {
	rest := geoCSV
	for len(rest) > 0 {
		end := indexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		row := rest[:end]
		rest = rest[min(end+1, len(rest)):]
		c1 := indexByte(row, ',')
		if c1 < 0 {
			continue
		}
		c2 := c1 + 1 + indexByte(row[c1+1:], ',')
		if c2 <= c1 {
			continue
		}
		first, ok1 := ipToUint32(row[:c1])
		last, ok2 := ipToUint32(row[c1+1 : c2])
		if ok1 && ok2 && first <= addr && addr <= last {
			return countryCode(row[c2+1:])
		}
	}
	return "--"
}

// countryCode is the country code c as one of countries' strings.
func countryCode(c []byte) string {
	for _, s := range countries {
		if s == string(c) {
			return s
		}
	}
	return "--"
}
