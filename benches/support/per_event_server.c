/* A per-event OpenAI chat completions server for the benchmarks, sharing nothing with llmrace.
 *
 * Every POST is answered with a streamed chat completion (SSE, HTTP/1.1 chunked, keep-alive):
 * one token per event ("tok "), the usage and `data: [DONE]` at the end, and every event is
 * its own write(2) on a TCP_NODELAY socket, as real inference servers write them. Tokens per
 * answer: the request's "max_tokens" (else 256). Pace: RATE tokens/s per stream, the first one
 * 1/RATE after the request arrived, or RATE 0 for saturation (as fast as the socket takes them).
 * A client that falls behind gets its late events in one write when its socket drains.
 * Other methods get 404.
 *
 * One thread, epoll (epoll_pwait2, Linux 5.11); due events in a binary heap by due time. On SIGTERM or SIGINT, prints
 * its counters to stderr and, with LOG, writes one line per answered request:
 * "received_ns first_write_ns last_write_ns events late_writes" (CLOCK_MONOTONIC; late_writes
 * counts events written more than 1 ms after their due time).
 *
 * Build: cc -O2 -o per_event_server per_event_server.c
 * Usage: per_event_server PORT RATE [LOG]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 65536
#define IN_CAP 65536
#define TOKEN "tok "

struct conn {
    int fd;
    int active;        /* an answer is being streamed */
    long sent, total;  /* tokens written, tokens to write */
    uint64_t next_due; /* ns, monotonic */
    uint64_t step;     /* ns between tokens, 0: saturation */
    int in_heap, blocked;
    size_t in_len;
    char in[IN_CAP];
    char *out; /* bytes the socket did not take yet */
    size_t out_len, out_cap;
    /* the record of the answer being streamed */
    uint64_t received, first_write, last_write;
    long late;
};

struct record { uint64_t received, first, last; long events, late; };

static struct conn *conns[MAX_CONNS];
static int heap[MAX_CONNS], heap_len; /* fds ordered by next_due */
static int ready[MAX_CONNS], ready_len; /* saturation: streams to write to */
static volatile sig_atomic_t stopping;
static double rate;
static struct record *records;
static size_t records_len, records_cap;
static long requests, events_written, writes, late_total, wakes, oversleep_us;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void heap_swap(int a, int b) { int t = heap[a]; heap[a] = heap[b]; heap[b] = t; }
static uint64_t due(int i) { return conns[heap[i]]->next_due; }

static void heap_push(int fd) {
    int i = heap_len++;
    heap[i] = fd;
    conns[fd]->in_heap = 1;
    while (i > 0 && due((i - 1) / 2) > due(i)) { heap_swap(i, (i - 1) / 2); i = (i - 1) / 2; }
}

static int heap_pop(void) {
    int top = heap[0], i = 0;
    heap[0] = heap[--heap_len];
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_len && due(l) < due(m)) m = l;
        if (r < heap_len && due(r) < due(m)) m = r;
        if (m == i) break;
        heap_swap(i, m);
        i = m;
    }
    conns[top]->in_heap = 0;
    return top;
}

static void close_conn(int fd) {
    struct conn *c = conns[fd];
    if (!c) return;
    if (c->in_heap) { /* rare (a client hung up mid-answer): remove by rebuilding */
        int n = 0;
        for (int i = 0; i < heap_len; i++) if (heap[i] != fd) heap[n++] = heap[i];
        heap_len = 0;
        for (int i = 0; i < n; i++) heap_push(heap[i]);
    }
    for (int i = 0; i < ready_len; i++) if (ready[i] == fd) { ready[i] = ready[--ready_len]; break; }
    close(fd);
    free(c->out);
    free(c);
    conns[fd] = NULL;
}

/* Writes what is queued, then BUF (one event, one write(2)); keeps what the socket refused.
 * Returns -1 when the connection broke. */
static int send_event(struct conn *c, const char *buf, size_t len) {
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out) { perror("realloc"); exit(1); }
    }
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    if (c->blocked) return 0; /* EPOLLOUT will flush it */
    ssize_t n = write(c->fd, c->out, c->out_len);
    writes++;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) { c->blocked = 1; return 0; }
        return -1;
    }
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
    if (c->out_len) c->blocked = 1;
    return 0;
}

/* One chunk of the chunked body holding one SSE event. */
static size_t chunk(char *dst, const char *event, size_t len) {
    int head = sprintf(dst, "%zx\r\n", len);
    memcpy(dst + head, event, len);
    memcpy(dst + head + len, "\r\n", 2);
    return (size_t)head + len + 2;
}

static void finish_record(struct conn *c) {
    if (records_len == records_cap) {
        records_cap = records_cap ? records_cap * 2 : 4096;
        records = realloc(records, records_cap * sizeof *records);
        if (!records) { perror("realloc"); exit(1); }
    }
    records[records_len++] = (struct record){c->received, c->first_write, c->last_write, c->total + 2, c->late};
}

/* Writes the next event of C's answer (a token, or the usage and [DONE] at the end). */
static int write_next(struct conn *c) {
    char event[512], buf[600];
    size_t len;
    uint64_t t = now_ns();
    if (c->step && t > c->next_due + 1000000) c->late++;
    if (c->sent < c->total) {
        len = (size_t)sprintf(event,
            "data: {\"id\":\"chatcmpl-pe\",\"object\":\"chat.completion.chunk\",\"created\":0,"
            "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" TOKEN "\"},"
            "\"finish_reason\":null}]}\n\n");
        len = chunk(buf, event, len);
        c->sent++;
    } else {
        len = (size_t)sprintf(event,
            "data: {\"id\":\"chatcmpl-pe\",\"object\":\"chat.completion.chunk\",\"created\":0,"
            "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
            "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n\n"
            "data: [DONE]\n\n", c->total, c->total + 8);
        len = chunk(buf, event, len);
        memcpy(buf + len, "0\r\n\r\n", 5);
        len += 5;
        c->active = 0;
    }
    if (!c->first_write) c->first_write = t;
    c->last_write = t;
    events_written++;
    if (send_event(c, buf, len) < 0) return -1;
    if (!c->active) { finish_record(c); late_total += c->late; }
    return 0;
}

/* Parses complete requests in C's input; starts an answer for the first one. */
static int take_request(struct conn *c) {
    if (c->active) return 0; /* no pipelining: the next request waits for this answer */
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return c->in_len == IN_CAP ? -1 : 0;
    size_t head = (size_t)(end - c->in) + 4;
    long body = 0;
    for (char *p = c->in; p < end; p++) {
        if ((p == c->in || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
            body = strtol(p + 15, NULL, 10);
    }
    if (body < 0 || head + (size_t)body > IN_CAP) return -1;
    if (c->in_len < head + (size_t)body) return 0;
    if (strncmp(c->in, "POST ", 5) != 0) {
        const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        if (send_event(c, nf, strlen(nf)) < 0) return -1;
    } else {
        long tokens = 256;
        char *mt = memmem(c->in + head, (size_t)body, "\"max_tokens\":", 13);
        if (mt) tokens = strtol(mt + 13, NULL, 10);
        if (tokens < 1) tokens = 1;
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
        uint64_t t = now_ns();
        requests++;
        c->active = 1;
        c->sent = 0;
        c->total = tokens;
        c->received = t;
        c->first_write = c->last_write = 0;
        c->late = 0;
        c->step = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
        c->next_due = t + c->step;
        if (send_event(c, h, strlen(h)) < 0) return -1;
        if (c->step) heap_push(c->fd);
        else ready[ready_len++] = c->fd;
    }
    memmove(c->in, c->in + head + body, c->in_len - head - (size_t)body);
    c->in_len -= head + (size_t)body;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT RATE [LOG]   (RATE tokens/s per stream, 0: saturation)\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    rate = atof(argv[2]);
    const char *log = argc > 3 ? argv[3] : NULL;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("per_event_server: bind/listen");
        return 2;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "per_event_server listening on 127.0.0.1:%d, %g tokens/s per stream\n", port, rate);

    struct epoll_event evs[256];
    while (!stopping) {
        /* Wait for I/O until the next due event (epoll_pwait2: a nanosecond timeout), not
         * at all while a saturating stream can be written to. */
        int writable = 0;
        for (int i = 0; i < ready_len && !writable; i++) writable = !conns[ready[i]]->blocked;
        struct timespec wait = {0, 0}, *timeout = &wait;
        if (!writable && heap_len) {
            uint64_t t = now_ns(), d = due(0);
            if (d > t) { wait.tv_sec = (time_t)((d - t) / 1000000000u); wait.tv_nsec = (long)((d - t) % 1000000000u); }
        } else if (!writable) timeout = NULL;
        uint64_t until = timeout && (wait.tv_sec || wait.tv_nsec) ? now_ns() + (uint64_t)wait.tv_sec * 1000000000u + (uint64_t)wait.tv_nsec : 0;
        int n = epoll_pwait2(ep, evs, 256, timeout, NULL);
        wakes++;
        if (until && n == 0) { uint64_t w = now_ns(); if (w > until) oversleep_us += (long)((w - until) / 1000); }
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (cfd < 0) break;
                    if (cfd >= MAX_CONNS) { close(cfd); continue; }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    if (!c) { perror("calloc"); return 1; }
                    c->fd = cfd;
                    conns[cfd] = c;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            if (evs[i].events & EPOLLOUT && c->blocked) {
                c->blocked = 0;
                if (c->out_len && send_event(c, "", 0) < 0) { close_conn(fd); continue; }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                int closed = 0;
                for (;;) {
                    ssize_t r = read(fd, c->in + c->in_len, IN_CAP - c->in_len);
                    if (r > 0) { c->in_len += (size_t)r; if (c->in_len == IN_CAP) break; continue; }
                    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = 1;
                    break;
                }
                if (closed || take_request(c) < 0) { close_conn(fd); continue; }
            }
        }
        /* Paced streams: every event that is due, each its own write. */
        uint64_t t = now_ns();
        while (heap_len && due(0) <= t) {
            int fd = heap_pop();
            struct conn *c = conns[fd];
            if (write_next(c) < 0) { close_conn(fd); continue; }
            if (c->active) { c->next_due += c->step; heap_push(fd); }
            else if (take_request(c) < 0) close_conn(fd);
        }
        /* Saturation: a round over the streams, up to 16 events each, stopping at a full socket. */
        for (int i = 0; i < ready_len;) {
            int fd = ready[i];
            struct conn *c = conns[fd];
            int broken = 0;
            for (int k = 0; k < 16 && c->active && !c->blocked; k++)
                if (write_next(c) < 0) { broken = 1; break; }
            if (broken) { close_conn(fd); continue; } /* close_conn moved another into slot i */
            if (!c->active) {
                ready[i] = ready[--ready_len];
                if (take_request(c) < 0) close_conn(fd);
                continue;
            }
            i++;
        }
    }
    fprintf(stderr, "per_event_server: %ld requests, %ld events in %ld writes, %ld events over 1 ms late, %ld wake-ups, %ld us overslept\n",
            requests, events_written, writes, late_total, wakes, oversleep_us);
    if (log) {
        FILE *f = fopen(log, "w");
        if (!f) { perror(log); return 1; }
        for (size_t i = 0; i < records_len; i++)
            fprintf(f, "%llu %llu %llu %ld %ld\n", (unsigned long long)records[i].received,
                    (unsigned long long)records[i].first, (unsigned long long)records[i].last,
                    records[i].events, records[i].late);
        fclose(f);
    }
    return 0;
}
