package layout

import "unicode"

// TextWidth estimates how wide s is, in pixels, set in the page's sans-serif
// face at size px (bold for a weight of 600 or more) with letterSpacing
// pixels after each character. It errs wide: the widths are those of DejaVu
// Sans (the face Linux falls back to, and wider than Helvetica, Arial,
// Segoe UI or San Francisco), by character class, and bold adds 10%. The
// server uses it to make room for labels before any browser has measured
// them.
func TextWidth(s string, px float64, bold bool, letterSpacing float64) float64 {
	em := 0.0
	n := 0
	for _, r := range s {
		em += charWidth(r)
		n++
	}
	if bold {
		em *= 1.1
	}
	return em*px + float64(n)*letterSpacing
}

// charWidth is a character's advance in ems, rounded up to its class's widest.
func charWidth(r rune) float64 {
	switch {
	case r == ' ':
		return 0.32
	case r == 'i' || r == 'j' || r == 'l' || r == 'I' || r == 'J' || r == '!' || r == '|' || r == '\'' ||
		r == '.' || r == ',' || r == ':' || r == ';' || r == '·':
		return 0.34
	case r == 'f' || r == 't' || r == 'r' || r == '(' || r == ')' || r == '[' || r == ']' || r == '-' || r == '/':
		return 0.42
	case r == 'm' || r == 'w' || r == 'M' || r == 'W' || r == '%' || r == '@':
		return 1.0
	case unicode.IsUpper(r):
		return 0.79
	case unicode.IsLower(r) || unicode.IsDigit(r):
		return 0.64
	}
	return 0.84 // ≥, ≤, µ, and symbols
}
