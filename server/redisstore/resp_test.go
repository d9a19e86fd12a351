package redisstore

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAppendCommand(t *testing.T) {
	t.Parallel()
	got := string(appendCommand(nil, "EVALSHA", "", "héllo\r\n"))
	want := "*3\r\n$7\r\nEVALSHA\r\n$0\r\n\r\n$8\r\nhéllo\r\n\r\n"
	if got != want {
		t.Fatalf("appendCommand = %q, want %q", got, want)
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want any
		err  string // substring of the error; "" for none
	}{
		{in: "+OK\r\n", want: "OK"},
		{in: ":-42\r\n", want: int64(-42)},
		{in: "$5\r\nhe\r\no\r\n", want: "he\r\no"},
		{in: "$0\r\n\r\n", want: ""},
		{in: "$-1\r\n", want: nil},
		{in: "*-1\r\n", want: nil},
		{in: "*0\r\n", want: []any{}},
		{in: "*2\r\n:7\r\n:59000\r\n", want: []any{int64(7), int64(59000)}},
		{in: "*2\r\n*1\r\n$1\r\na\r\n-ERR inner\r\n", want: []any{[]any{"a"}, Error("ERR inner")}},
		{in: "-NOSCRIPT No matching script\r\n", err: "NOSCRIPT No matching script"},
		{in: "", err: "EOF"},
		{in: "+OK\n", err: "CRLF"},
		{in: "\r\n", err: "empty line"},
		{in: "%1\r\n", err: "unexpected reply type"},
		{in: ":12x\r\n", err: "bad integer"},
		{in: "$3\r\nabcd\r\n", err: "not terminated"},
		{in: "$3\r\nab", err: "EOF"},
		{in: "$-2\r\n", err: "bad length"},
		{in: "$99999999999\r\n", err: "bad length"},
		{in: "*99999999\r\n", err: "bad length"},
		{in: strings.Repeat("*1\r\n", 20) + ":1\r\n", err: "nested too deep"},
	} {
		got, err := readReply(bufio.NewReaderSize(strings.NewReader(tc.in), 64))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("readReply(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("readReply(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	// An error reply is an Error, which callers tell apart from I/O and
	// protocol errors (those make the connection unusable).
	_, err := readReply(bufio.NewReader(strings.NewReader("-WRONGPASS invalid\r\n")))
	var rerr Error
	if !errors.As(err, &rerr) || rerr != "WRONGPASS invalid" {
		t.Fatalf("error reply = %#v, want Error", err)
	}
	_, err = readReply(bufio.NewReaderSize(strings.NewReader("+"+strings.Repeat("x", 100)+"\r\n"), 16))
	if err == nil || errors.As(err, &rerr) {
		t.Fatalf("over-long line = %v, want a protocol error", err)
	}
}
