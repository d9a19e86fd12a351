// Package useragent reads a browser family and an operating-system family
// from a User-Agent header: coarse on purpose, so that a browser update
// does not make a new device. The console's describeUserAgent
// (frontend/src/utils/format.ts) applies the same rules; both are tested
// against testdata/agents.json.
package useragent

import "strings"

// Device is what a user agent says about the client.
type Device struct {
	Browser string // Edge, Opera, Firefox, Chrome, Safari, curl or ""
	OS      string // Windows, Android, iOS, macOS, Linux or ""
}

// Parse reads ua.
func Parse(ua string) Device {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	var d Device
	switch {
	case has("Edg/"):
		d.Browser = "Edge"
	case has("OPR/", "Opera"):
		d.Browser = "Opera"
	case has("Firefox/"):
		d.Browser = "Firefox"
	case has("Chrome/", "Chromium/"):
		d.Browser = "Chrome"
	case has("Safari/"):
		d.Browser = "Safari"
	case has("curl/"):
		d.Browser = "curl"
	}
	switch {
	case has("Windows"):
		d.OS = "Windows"
	case has("Android"):
		d.OS = "Android"
	case has("iPhone", "iPad", "iOS"):
		d.OS = "iOS"
	case has("Mac OS X", "Macintosh"):
		d.OS = "macOS"
	case has("Linux"):
		d.OS = "Linux"
	}
	return d
}

// Describe is a short readable name ("Firefox · Linux"), as the console
// shows it; for an unknown agent its first 60 bytes, or "".
func Describe(ua string) string {
	d := Parse(ua)
	switch {
	case d.Browser != "" && d.OS != "":
		return d.Browser + " · " + d.OS
	case d.Browser != "":
		return d.Browser
	case d.OS != "":
		return d.OS
	}
	if len(ua) > 60 {
		ua = strings.ToValidUTF8(ua[:60], "")
	}
	return ua
}
