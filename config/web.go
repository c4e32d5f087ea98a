package config

import (
	"fmt"
	"net"
	"net/netip"
)

// check reports the problems of the [web] table's keys.
func (w Web) check() []string {
	var p []string
	if w.IdleTimeout.Duration <= 0 || w.MaxSession.Duration <= 0 {
		p = append(p, "web.idle_timeout and web.max_session: must be above 0 (defaults 30m and 12h)")
	}
	if w.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(w.MetricsAddr); err != nil {
			p = append(p, fmt.Sprintf("web.metrics_addr: %q is not host:port (try \"127.0.0.1:9464\")", w.MetricsAddr))
		} else if w.MetricsAddr == w.Addr {
			p = append(p, "web.metrics_addr: must differ from web.addr (set \"\" to serve /metrics only on the pages' address, behind metrics_token)")
		} else if !w.MetricsToken.IsSet() && !loopbackAddr(w.MetricsAddr) {
			p = append(p, fmt.Sprintf("web.metrics_addr: %q is not a loopback address: keep it on 127.0.0.1, or set metrics_token = { file = \"/path\" }", w.MetricsAddr))
		}
	}
	for _, s := range w.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			p = append(p, fmt.Sprintf("web.trusted_proxies: %q is not an address or a range like \"10.0.0.0/8\"", s))
		}
	}
	for _, r := range w.RequireTOTP {
		switch r {
		case "viewer", "coordinator", "admin":
		default:
			p = append(p, fmt.Sprintf("web.require_totp: %q is not a role (viewer, coordinator or admin)", r))
		}
	}
	if w.PasswordChecks < 0 {
		p = append(p, "web.password_checks: must be 0 (two per CPU) or more")
	}
	if w.SigninWindow.Duration <= 0 || w.SigninClientFailures < 1 || w.SigninAccountFailures < 1 {
		p = append(p, "web.signin_window, signin_client_failures and signin_account_failures: must be above 0")
	}
	if w.SigninDelay.Duration <= 0 || w.SigninMaxDelay.Duration < w.SigninDelay.Duration {
		p = append(p, "web.signin_delay: must be above 0, and web.signin_max_delay at least as long")
	}
	return p
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
