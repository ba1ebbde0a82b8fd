// A takedown webhook receiver and upload-gate client in Go (1.19 or later), standard library only.
//
//	serve   receive takedown's signed action webhooks and apply each action once
//	check   the one call a platform makes at upload time (POST /v1/check/media)
//
//	TAKEDOWN_WEBHOOK_SECRET=... go run receiver.go serve -port 8081 -log actions.jsonl
//	TAKEDOWN_PLATFORM_KEY=td_... go run receiver.go check -takedown http://127.0.0.1:8080 \
//	    -file photo.jpg -content-id msg-1 -chat chat-1 -uploader user-1
//
// What takedown sends (config/takedown.toml [webhook]): POST, Content-Type application/json,
//
//	Idempotency-Key       the same on every delivery of one action (and "idempotency_key" in the body)
//	X-Takedown-Timestamp  Unix seconds at sending
//	X-Takedown-Signature  v1=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + RAW_BODY))
//
// Any 2xx acknowledges the action; anything else (or no answer within 5 s) is retried with backoff,
// forever: answer 2xx only once the action is applied (or was applied before).
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

const (
	maxBody  = 1 << 20 // an action is a few KB; refuse anything over 1 MiB
	maxSkewS = 300     // refuse deliveries signed more than 5 minutes away from our clock
	hookPath = "/takedown/webhook"
)

// signatureOK: header is v1=HMAC-SHA256(secret, ts.body) and ts is recent; constant time.
func signatureOK(secret []byte, ts string, body []byte, header string) bool {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || t < 0 || time.Since(time.Unix(t, 0)).Abs() > maxSkewS*time.Second {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

// The fields this receiver uses; the body has more (category, statement_of_reasons, ...).
type action struct {
	Kind           string `json:"kind"` // remove, restore, restrict_chat
	ActionID       int64  `json:"action_id"`
	IdempotencyKey string `json:"idempotency_key"`
	ContentID      string `json:"content_id,omitempty"`
	ChatID         string `json:"chat_id"`
	RequestID      int64  `json:"request_id,omitempty"`
	Attempt        int    `json:"attempt"`
}

type receiver struct {
	secret       []byte
	log, capture string
	mu           sync.Mutex // deliveries arrive concurrently (webhook.workers)
	seen         map[string]bool
}

func answer(w http.ResponseWriter, code int, result string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"result\":%q}", result)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != hookPath {
		answer(w, http.StatusNotFound, "not found")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		answer(w, http.StatusRequestEntityTooLarge, "too large")
		return
	} else if err != nil {
		answer(w, http.StatusBadRequest, "unreadable")
		return
	}
	ts := r.Header.Get("X-Takedown-Timestamp")
	if !signatureOK(rc.secret, ts, body, r.Header.Get("X-Takedown-Signature")) {
		answer(w, http.StatusUnauthorized, "bad signature") // not from takedown, or too old
		return
	}
	var a action
	if err := json.Unmarshal(body, &a); err != nil {
		answer(w, http.StatusBadRequest, "not an action")
		return
	}
	key := a.IdempotencyKey // signed, unlike the Idempotency-Key header: they must agree
	if h := r.Header.Values("Idempotency-Key"); key == "" || (len(h) > 0 && h[0] != key) {
		answer(w, http.StatusBadRequest, "idempotency key mismatched")
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.capture != "" {
		if _, err := os.Stat(rc.capture + ".body"); errors.Is(err, os.ErrNotExist) {
			rc.keep(r.Header, body)
		}
	}
	result := "applied"
	if rc.seen[key] {
		result = "duplicate"
	}
	if err := rc.apply(a, result); err != nil { // not applied: takedown delivers it again later
		log.Printf("cannot apply %s: %v", key, err)
		answer(w, http.StatusInternalServerError, "not applied")
		return
	}
	rc.seen[key] = true
	answer(w, http.StatusOK, result)
}

// apply: remove or restore a.ContentID in a.ChatID, or restrict the chat (kind restrict_chat).
// This example appends a line to its log, durably.
func (rc *receiver) apply(a action, result string) error {
	line, _ := json.Marshal(struct {
		Result string `json:"result"`
		action
		ReceivedAt int64 `json:"received_at"`
	}{result, a, time.Now().Unix()})
	f, err := os.OpenFile(rc.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// keep (-capture): the first verified delivery (curl -H @P.headers --data-binary @P.body).
func (rc *receiver) keep(h http.Header, body []byte) {
	var b bytes.Buffer
	names := []string{"Content-Type", "Idempotency-Key", "X-Takedown-Timestamp", "X-Takedown-Signature"}
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, h.Get(n))
	}
	_ = os.WriteFile(rc.capture+".headers", b.Bytes(), 0o600)
	_ = os.WriteFile(rc.capture+".body", body, 0o600)
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	host := fs.String("host", env("RECEIVER_HOST", "127.0.0.1"), "address to listen on")
	port := fs.Int("port", atoi(env("RECEIVER_PORT", "8081")), "port (0: any)")
	logPath := fs.String("log", env("RECEIVER_LOG", "actions.jsonl"), "applied actions (JSON lines)")
	capture := fs.String("capture", "", "keep the first verified delivery as PREFIX.headers/.body")
	_ = fs.Parse(args)
	secret := os.Getenv("TAKEDOWN_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set TAKEDOWN_WEBHOOK_SECRET (the same as takedown's webhook.secret)")
	}
	rc := &receiver{secret: []byte(secret), log: *logPath, capture: *capture, seen: map[string]bool{}}
	if f, err := os.Open(rc.log); err == nil { // keys applied before a restart stay applied
		for s := bufio.NewScanner(f); s.Scan(); {
			var a action
			if json.Unmarshal(s.Bytes(), &a) == nil {
				rc.seen[a.IdempotencyKey] = true
			}
		}
		f.Close()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("receiver listening on http://%s%s\n", ln.Addr(), hookPath)
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// check: the upload gate. Send the bytes before storing the upload; store it only on "allow".
func check(args []string) int {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	base := fs.String("takedown", env("TAKEDOWN_URL", "http://127.0.0.1:8080"), "takedown's base URL")
	key := fs.String("key", os.Getenv("TAKEDOWN_PLATFORM_KEY"), "platform API key")
	file := fs.String("file", "", "the uploaded media")
	contentID := fs.String("content-id", "", "the platform's id of the upload")
	chat := fs.String("chat", "", "its chat")
	uploader := fs.String("uploader", "", "its uploader")
	_ = fs.Parse(args)
	if *file == "" || *contentID == "" {
		log.Fatal("check needs -file and -content-id")
	}
	media, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	q := url.Values{"content_id": {*contentID}}
	if *chat != "" {
		q.Set("chat_id", *chat)
	}
	if *uploader != "" {
		q.Set("uploader_id", *uploader)
	}
	req, err := http.NewRequest(http.MethodPost, *base+"/v1/check/media?"+q.Encode(),
		bytes.NewReader(media))
	if err != nil {
		log.Fatalf("upload gate: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+*key)
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil { // unreachable, timed out: the platform chooses to fail closed or open
		log.Fatalf("upload gate: %v", err)
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK { // 4xx/5xx: {"error": {"code", "message"}}
		log.Fatalf("upload gate: HTTP %d: %s", res.StatusCode, text)
	}
	var result struct { // and "recorded": false when this content_id was checked before
		ContentID string `json:"content_id"`
		Decision  string `json:"decision"` // allow or block
		Matches   []struct {
			Bank     string `json:"bank"`
			EntryID  int64  `json:"entry_id"`
			Signal   string `json:"signal"` // sha256, md5, pdq, vpdq, norm, box, layer
			Distance int    `json:"distance"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(text, &result); err != nil {
		log.Fatalf("upload gate: %v: %s", err, text)
	}
	fmt.Println(string(bytes.TrimSpace(text)))
	if result.Decision == "block" {
		return 3
	}
	return 0
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		log.Fatalf("not a number: %q", s)
	}
	return n
}

func main() {
	log.SetPrefix("receiver: ")
	log.SetFlags(0)
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		serve(os.Args[2:])
	} else if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(check(os.Args[2:]))
	}
	log.Fatal("usage: receiver serve [-host H] [-port N] [-log FILE] [-capture PREFIX]\n" +
		"       receiver check [-takedown URL] [-key KEY] -file F -content-id ID [-chat C] [-uploader U]\n" +
		"         (exit 0: allow, 3: block, 1: error)")
}
