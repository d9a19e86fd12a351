package api_test

import "strings"

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }
