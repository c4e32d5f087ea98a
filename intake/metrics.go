package intake

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// Metrics is the intake's Prometheus registry: messages by outcome and
// their processing time, the IMAP connection and the last successful
// fetch, the outbox backlog and the review queue. Figures only: no
// personal data ever becomes a label.
type Metrics struct {
	reg      *prometheus.Registry
	duration prometheus.Histogram
}

// StatsSource is what the metrics and /readyz need of the store: its
// figures. *store.Store is one.
type StatsSource interface {
	Stats(ctx context.Context) (store.Stats, error)
}

// NewMetrics registers the intake's metrics over its health and store.
func NewMetrics(h *Health, store StatsSource) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dsr_message_processing_seconds",
			Help:    "Time to fetch, parse, decide and commit one message.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	reg.MustRegister(m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&intakeCollector{health: h, store: store})
	return m
}

// Observe records one message's processing time.
func (m *Metrics) Observe(d time.Duration) {
	if m != nil {
		m.duration.Observe(d.Seconds())
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descProcessed   = prometheus.NewDesc("dsr_messages_processed_total", "Messages decided since start, by outcome.", []string{"outcome"}, nil)
	descConnected   = prometheus.NewDesc("dsr_imap_connected", "1 while connected to the inbox.", nil, nil)
	descLastFetch   = prometheus.NewDesc("dsr_last_successful_fetch_timestamp_seconds", "When the inbox was last read successfully.", nil, nil)
	descQuarantined = prometheus.NewDesc("dsr_messages_quarantined", "Messages in quarantine.", nil, nil)
	descFailing     = prometheus.NewDesc("dsr_messages_failing", "Messages that failed and will be retried.", nil, nil)
	descBacklog     = prometheus.NewDesc("dsr_outbox_backlog", "Emails waiting to be sent.", nil, nil)
	descBacklogAge  = prometheus.NewDesc("dsr_outbox_oldest_age_seconds", "Age of the oldest email waiting to be sent.", nil, nil)
	descOutboxFail  = prometheus.NewDesc("dsr_outbox_failed", "Emails given up after their last attempt.", nil, nil)
	descReview      = prometheus.NewDesc("dsr_review_queue_length", "Open review items.", nil, nil)
	descReviewAge   = prometheus.NewDesc("dsr_review_queue_oldest_age_seconds", "Age of the oldest open review item.", nil, nil)
)

// descNotDelivered shows cases no one was asked about: their query was
// given up and they wait in the review queue.
var descNotDelivered = prometheus.NewDesc("dsr_queries_not_delivered", "Cases in the review queue because their query did not reach the referrer (given up, or returned in a delivery report).", nil, nil)

// intakeCollector reads the figures when scraped, so they are never stale
// and cost nothing between scrapes.
type intakeCollector struct {
	health *Health
	store  StatsSource
}

func (c *intakeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descProcessed, descConnected, descLastFetch, descQuarantined, descFailing,
		descBacklog, descBacklogAge, descOutboxFail, descReview, descReviewAge, descNotDelivered} {
		ch <- d
	}
}

func (c *intakeCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.health.Snapshot()
	for _, o := range []register.Outcome{register.OutcomeRegister, register.OutcomeQuery, register.OutcomeReview, register.OutcomeIgnore, "quarantined"} {
		ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.CounterValue, float64(h.Processed[o]), string(o))
	}
	connected := 0.0
	if h.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, connected)
	if !h.LastFetchOK.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastFetch, prometheus.GaugeValue, float64(h.LastFetchOK.UnixMilli())/1000)
	}
	if c.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.store.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descBacklog, err)
		return
	}
	now := time.Now()
	age := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return now.Sub(t).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descQuarantined, prometheus.GaugeValue, float64(st.MessagesQuarantined))
	ch <- prometheus.MustNewConstMetric(descFailing, prometheus.GaugeValue, float64(st.MessagesFailed))
	ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(st.OutboxPending))
	ch <- prometheus.MustNewConstMetric(descBacklogAge, prometheus.GaugeValue, age(st.OutboxOldest))
	ch <- prometheus.MustNewConstMetric(descOutboxFail, prometheus.GaugeValue, float64(st.OutboxFailed))
	ch <- prometheus.MustNewConstMetric(descReview, prometheus.GaugeValue, float64(st.ReviewOpen))
	ch <- prometheus.MustNewConstMetric(descReviewAge, prometheus.GaugeValue, age(st.ReviewOldest))
	ch <- prometheus.MustNewConstMetric(descNotDelivered, prometheus.GaugeValue, float64(st.QueriesNotDelivered))
}

// HealthHandler serves /healthz: 200 while the inbox has been read within
// the watchdog period, 503 otherwise (an inbox that silently stopped is
// the worst failure, so it must show).
func HealthHandler(h *Health, watchdog time.Duration, started time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := h.Snapshot()
		last := s.LastFetchOK
		if last.IsZero() {
			last = started
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if watchdog > 0 && time.Since(last) > watchdog {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("no successful fetch from the inbox since " + last.UTC().Format(time.RFC3339) + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// ReadyHandler serves /readyz: 200 once connected to the inbox and the
// register answers.
func ReadyHandler(h *Health, store StatsSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !h.Snapshot().Connected {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not connected to the inbox\n"))
			return
		}
		if _, err := store.Stats(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("register unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}
