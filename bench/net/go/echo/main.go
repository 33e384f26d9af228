// Echo server: goroutine per connection, 4 KiB buffer, TCP_NODELAY (Go's
// default). GOMAXPROCS from env WORKERS. Prints "LISTENING <addr>".
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
)

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
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		c.(*net.TCPConn).SetNoDelay(true)
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
}
