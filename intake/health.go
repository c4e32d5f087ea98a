package intake

import (
	"sync"
	"time"

	"dsr-intake/register"
)

// Health is what the watchdog, the metrics and /healthz know of the
// intake. It is safe for concurrent use.
type Health struct {
	mu          sync.Mutex
	lastFetchOK time.Time
	connected   bool
	quarantined int
	processed   map[register.Outcome]int
}

// FetchOK records a successful look at the mailbox.
func (h *Health) FetchOK(t time.Time) {
	h.mu.Lock()
	h.lastFetchOK = t
	h.connected = true
	h.mu.Unlock()
}

// Disconnected records a lost connection.
func (h *Health) Disconnected() {
	h.mu.Lock()
	h.connected = false
	h.mu.Unlock()
}

func (h *Health) count(o register.Outcome) {
	h.mu.Lock()
	if h.processed == nil {
		h.processed = map[register.Outcome]int{}
	}
	h.processed[o]++
	h.mu.Unlock()
}

func (h *Health) quarantine() {
	h.mu.Lock()
	h.quarantined++
	h.mu.Unlock()
}

// HealthSnapshot is a copy of the health figures.
type HealthSnapshot struct {
	LastFetchOK time.Time
	Connected   bool
	Quarantined int
	Processed   map[register.Outcome]int
}

// Snapshot copies the figures.
func (h *Health) Snapshot() HealthSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := make(map[register.Outcome]int, len(h.processed))
	for k, v := range h.processed {
		p[k] = v
	}
	return HealthSnapshot{LastFetchOK: h.lastFetchOK, Connected: h.connected, Quarantined: h.quarantined, Processed: p}
}
