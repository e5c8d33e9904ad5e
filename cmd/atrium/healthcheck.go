package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck: atrium healthcheck [--url URL] [--timeout D]
//
// A container HEALTHCHECK for images without curl (distroless): GET
// /api/v1/ready on this instance and exit 0 if it answers 200, else 1.
// Docker reserves exit code 2, so every failure - bad flags included - is 1.
// The address comes from ATRIUM_HTTP_ADDR only (not the whole
// configuration), so a health probe never fails on an unrelated setting.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atrium healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "probe this `URL` instead of http://ATRIUM_HTTP_ADDR/api/v1/ready")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitFail
	}
	if *url == "" {
		*url = readyURL(os.Getenv("ATRIUM_HTTP_ADDR"))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "atrium healthcheck:", err)
		return exitFail
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "atrium healthcheck:", err)
		return exitFail
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "atrium healthcheck: %s: %s\n", *url, res.Status)
		return exitFail
	}
	fmt.Fprintln(stdout, "ready")
	return exitOK
}

// readyURL turns a listen address into the URL of its readiness endpoint;
// a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080") is probed on
// loopback.
func readyURL(addr string) string {
	if addr == "" {
		addr = "127.0.0.1:8080" // config's default ATRIUM_HTTP_ADDR
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/api/v1/ready"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/api/v1/ready"
}
