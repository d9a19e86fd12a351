package redisstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Error is an error reply from the server, its message as sent (for
// example "NOSCRIPT ..." or "WRONGPASS ..."). The connection stays usable
// after one.
type Error string

func (e Error) Error() string { return string(e) }

// Limits on what a reply may announce, so that a confused or hostile peer
// cannot make the client allocate without bound. The store's replies are a
// few short integers.
const (
	maxBulkLen  = 1 << 20
	maxArrayLen = 1 << 16
	maxDepth    = 8
)

var errProtocol = errors.New("redis: protocol error")

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readReply reads one RESP2 reply: a string (simple or bulk), an int64, nil
// (null bulk string or array), []any, or an Error returned as the error.
func readReply(r *bufio.Reader) (any, error) {
	return readValue(r, 0)
}

func readValue(r *bufio.Reader, depth int) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("%w: empty line", errProtocol)
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return string(body), nil
	case '-':
		return nil, Error(body)
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad integer %q", errProtocol, body)
		}
		return n, nil
	case '$':
		n, err := length(body, maxBulkLen)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, fmt.Errorf("%w: bulk string not terminated", errProtocol)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := length(body, maxArrayLen)
		if err != nil || n < 0 {
			return nil, err
		}
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: arrays nested too deep", errProtocol)
		}
		vs := make([]any, n)
		for i := range vs {
			v, err := readValue(r, depth+1)
			var rerr Error
			if err != nil && !errors.As(err, &rerr) {
				return nil, err
			}
			if err != nil {
				v = rerr // an error inside an array (EXEC, scripts) is a value
			}
			vs[i] = v
		}
		return vs, nil
	}
	return nil, fmt.Errorf("%w: unexpected reply type %q", errProtocol, line[0])
}

// length parses a bulk or array length: -1 (null) up to limit.
func length(b []byte, limit int) (int, error) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < -1 || n > limit {
		return 0, fmt.Errorf("%w: bad length %q", errProtocol, b)
	}
	if n == -1 {
		return -1, nil
	}
	return n, nil
}

// readLine reads up to CRLF and returns the line without it.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line too long", errProtocol)
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not terminated by CRLF", errProtocol)
	}
	return line[:len(line)-2], nil
}
