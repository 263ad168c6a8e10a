// connect-gen: the connections scenario's client side in Go, for bench/loadgen/scenarios.ts. The
// node load generator holding 10,000 connections and opening 100 at a time spent its whole core
// (~90-150 µs of CPU per connect, varying run to run) and so measured itself rather than the
// broker; this program opens the same MQTT 3.1.1 connections (CONNECT with client id, username
// and password; CONNACK return code checked) for about 80 µs each, 17 µs of it in user space
// and the rest the kernel's TCP work, which any client pays.
//
// Usage: connect-gen -port P -n N -c C -client 'dev{i}' [-user 'dev{i}@bench' -pass 'pw-{i}'] -timeout 30s -limit 90s
// Stdin, a command a line: `pass` connects devices 0..N-1, C at a time, and keeps every connection
// open; `close` closes them all; `exit` ends. Stdout, one JSON line per command:
// {"event":"pass","connected":K,"failed":F,"untried":U,"seconds":S,"firstError":"…"} / {"event":"closed"};
// a pass stops starting connects after -limit (those left are "untried").
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connectPacket encodes an MQTT 3.1.1 CONNECT (clean session, keep-alive 0).
func connectPacket(clientID, user, pass string) []byte {
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0}
	str := func(s string) {
		body = append(body, byte(len(s)>>8), byte(len(s)))
		body = append(body, s...)
	}
	str(clientID)
	if user != "" {
		body[7] |= 0x80
		str(user)
		if pass != "" {
			body[7] |= 0x40
			str(pass)
		}
	}
	out := []byte{0x10}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

func fill(pattern string, i int) string {
	return strings.ReplaceAll(pattern, "{i}", strconv.Itoa(i))
}

func connectOne(addr string, packet []byte, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.(*net.TCPConn).SetNoDelay(true)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(packet); err != nil {
		conn.Close()
		return nil, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("no CONNACK: %w", err)
	}
	if ack[0]>>4 != 2 {
		conn.Close()
		return nil, fmt.Errorf("expected CONNACK, got packet type %d", ack[0]>>4)
	}
	if ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("CONNACK return code %d", ack[3])
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

func main() {
	port := flag.Int("port", 0, "broker port on 127.0.0.1")
	n := flag.Int("n", 1000, "connections")
	c := flag.Int("c", 100, "connecting at once")
	client := flag.String("client", "dev{i}", "client id pattern")
	user := flag.String("user", "", "username pattern")
	pass := flag.String("pass", "", "password pattern")
	timeout := flag.Duration("timeout", 30*time.Second, "per connect")
	limit := flag.Duration("limit", 90*time.Second, "per pass: no connect starts after it")
	flag.Parse()
	addr := fmt.Sprintf("127.0.0.1:%d", *port)
	packets := make([][]byte, *n)
	for i := range packets {
		u, p := "", ""
		if *user != "" {
			u = fill(*user, i)
		}
		if *pass != "" {
			p = fill(*pass, i)
		}
		packets[i] = connectPacket(fill(*client, i), u, p)
	}
	out := json.NewEncoder(os.Stdout)
	var held []net.Conn
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "pass":
			conns := make([]net.Conn, *n)
			var next, failed, tried atomic.Int64
			var firstErr atomic.Value
			var wg sync.WaitGroup
			t0 := time.Now()
			deadline := t0.Add(*limit)
			for w := 0; w < *c; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if time.Now().After(deadline) {
							return
						}
						i := int(next.Add(1) - 1)
						if i >= *n {
							return
						}
						tried.Add(1)
						conn, err := connectOne(addr, packets[i], *timeout)
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
							continue
						}
						conns[i] = conn
					}
				}()
			}
			wg.Wait()
			seconds := time.Since(t0).Seconds()
			connected := 0
			for _, conn := range conns {
				if conn != nil {
					held = append(held, conn)
					connected++
				}
			}
			msg := map[string]any{"event": "pass", "connected": connected, "failed": failed.Load(), "untried": int64(*n) - tried.Load(), "seconds": seconds}
			if e, ok := firstErr.Load().(string); ok {
				msg["firstError"] = e
			}
			_ = out.Encode(msg)
		case "close":
			for _, conn := range held {
				conn.Close()
			}
			held = nil
			_ = out.Encode(map[string]any{"event": "closed"})
		case "exit":
			return
		default:
			_ = out.Encode(map[string]any{"event": "error", "message": "unknown command"})
		}
	}
}
