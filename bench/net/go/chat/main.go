// Chat server: a reader goroutine per client sends each line to one hub
// goroutine; the hub broadcasts it to every client's writer goroutine through
// a buffered channel of 1024 lines (full: the line is dropped for that client,
// a non-blocking send). Lines are capped at 64 KiB. GOMAXPROCS from env
// WORKERS. Prints "LISTENING <addr>".
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
)

const (
	maxLine     = 64 * 1024
	clientQueue = 1024
	hubQueue    = 1024
	writeBatch  = 64 * 1024
)

type msg struct {
	kind int // 0 join, 1 leave, 2 line
	id   uint64
	ch   chan string
	line string
}

func hub(inbox chan msg) {
	type client struct {
		id uint64
		ch chan string
	}
	var clients []client
	for m := range inbox {
		switch m.kind {
		case 0:
			clients = append(clients, client{m.id, m.ch})
		case 1:
			for i, c := range clients {
				if c.id == m.id {
					close(c.ch)
					clients = append(clients[:i], clients[i+1:]...)
					break
				}
			}
		case 2:
			for _, c := range clients {
				select {
				case c.ch <- m.line:
				default:
				}
			}
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if w, err := strconv.Atoi(os.Getenv("WORKERS")); err == nil && w > 0 {
		runtime.GOMAXPROCS(w)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	os.Stdout.Sync()
	inbox := make(chan msg, hubQueue)
	go hub(inbox)
	var nextID uint64
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		c.(*net.TCPConn).SetNoDelay(true)
		nextID++
		id := nextID
		ch := make(chan string, clientQueue)
		inbox <- msg{kind: 0, id: id, ch: ch}
		// Writer: drain the queue into one buffer per write.
		go func(c net.Conn, ch chan string) {
			out := make([]byte, 0, writeBatch)
			for line := range ch {
				out = append(out, line...)
			drain:
				for len(out) < writeBatch {
					select {
					case l, ok := <-ch:
						if !ok {
							break drain
						}
						out = append(out, l...)
					default:
						break drain
					}
				}
				if _, err := c.Write(out); err != nil {
					// Keep draining so the hub's close never races a dead writer.
					for range ch {
					}
					return
				}
				out = out[:0]
			}
		}(c, ch)
		// Reader: lines to the hub.
		go func(c net.Conn, id uint64) {
			defer c.Close()
			r := bufio.NewReaderSize(c, 4096)
			var pending []byte
			for {
				frag, err := r.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					pending = append(pending, frag...)
					if len(pending) > maxLine {
						break
					}
					continue
				}
				if err != nil {
					break
				}
				var line string
				if len(pending) > 0 {
					pending = append(pending, frag...)
					line = string(pending)
					pending = pending[:0]
				} else {
					line = string(frag)
				}
				inbox <- msg{kind: 2, line: line}
			}
			inbox <- msg{kind: 1, id: id}
		}(c, id)
	}
}
