package main

import (
	"bytes"
	"strconv"
	"strings"
)

// A rule of the "rules" implementation: a user agent that contains pattern
// (in lower case) is of this browser, OS or device.
type rule struct {
	pattern string
	field   uint8 // fieldBrowser, fieldOS or fieldDevice
	name    string
}

const (
	fieldBrowser = iota
	fieldOS
	fieldDevice
)

// deviceRules is how many device rules come before the browser and OS rules.
const deviceRules = 340

var rules []rule

// buildRules makes the rule list: the device rules first, as the usual
// user-agent databases list them, then the browser and OS rules, each in
// the order that decides between agents that match several.
func buildRules() {
	if rules != nil {
		return
	}
	brands := []string{"sm-", "gt-", "lm-", "xt", "cph", "rmx", "vog-", "moto ", "nokia ", "redmi note "}
	for i := range deviceRules {
		b := brands[i%len(brands)]
		rules = append(rules, rule{b + strconv.Itoa(100+i*7%900) + string(rune('a'+i%26)), fieldDevice, strings.ToUpper(b) + strconv.Itoa(i)})
	}
	rules = append(rules,
		rule{"edg/", fieldBrowser, "Edge"},
		rule{"firefox/", fieldBrowser, "Firefox"},
		rule{"chrome/", fieldBrowser, "Chrome"},
		rule{"safari/", fieldBrowser, "Safari"},
		rule{"curl/", fieldBrowser, "curl"},
		rule{"windows nt", fieldOS, "Windows"},
		rule{"android", fieldOS, "Android"},
		rule{"iphone os", fieldOS, "iOS"},
		rule{"mac os x", fieldOS, "macOS"},
		rule{"linux", fieldOS, "Linux"},
	)
}

// agentFromRules tries every rule in order; the first browser rule and the
// first OS rule that match win.
//
//go:noinline
func agentFromRules(ua []byte) (browser, os string) {
	browser, os = "other", "other"
	var haveBrowser, haveOS bool
	for i := range rules {
		r := &rules[i]
		if r.field == fieldBrowser && haveBrowser || r.field == fieldOS && haveOS {
			continue
		}
		if !matchRule(ua, r.pattern) {
			continue
		}
		switch r.field {
		case fieldBrowser:
			browser, haveBrowser = r.name, true
		case fieldOS:
			os, haveOS = r.name, true
		}
	}
	return browser, os
}

// matchRule reports whether ua, in lower case, contains pattern.
//
//go:noinline
func matchRule(ua []byte, pattern string) bool {
	return strings.Contains(lower(ua), pattern)
}

// agentFromTokens reads the product tokens (Name/Version) and the first
// comment (in parentheses) of ua once.
//
//go:noinline
func agentFromTokens(ua []byte) (browser, os string) {
	var edge, firefox, chrome, safari, curl bool
	comment := []byte(nil)
	for rest := ua; len(rest) > 0; {
		if rest[0] == '(' {
			end := indexByte(rest, ')')
			if end < 0 {
				break
			}
			if comment == nil {
				comment = rest[1:end]
			}
			rest = rest[end+1:]
			continue
		}
		end := bytes.IndexAny(rest, " (")
		if end < 0 {
			end = len(rest)
		}
		tok := rest[:end]
		if slash := indexByte(tok, '/'); slash > 0 {
			switch strings.ToLower(string(tok[:slash])) {
			case "edg":
				edge = true
			case "firefox":
				firefox = true
			case "chrome":
				chrome = true
			case "safari":
				safari = true
			case "curl":
				curl = true
			}
		}
		rest = bytes.TrimLeft(rest[end:], " ")
	}
	switch {
	case edge:
		browser = "Edge"
	case firefox:
		browser = "Firefox"
	case chrome:
		browser = "Chrome"
	case safari:
		browser = "Safari"
	case curl:
		browser = "curl"
	default:
		browser = "other"
	}
	c := strings.ToLower(string(comment))
	switch {
	case strings.Contains(c, "windows nt"):
		os = "Windows"
	case strings.Contains(c, "android"):
		os = "Android"
	case strings.Contains(c, "iphone os"):
		os = "iOS"
	case strings.Contains(c, "mac os x"):
		os = "macOS"
	case strings.Contains(c, "linux"):
		os = "Linux"
	default:
		os = "other"
	}
	return browser, os
}
