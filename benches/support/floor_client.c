/* The floor: the least a client can do per streamed event and still time it as llmrace does.
 *
 * STREAMS keep-alive connections to per_event_server.c, each sending POSTs one after another.
 * Every readiness is answered with one recvmsg(2) into a 64 KiB buffer, with the kernel's
 * receive timestamp (SO_TIMESTAMPNS) taken from its control message, as an accurate client
 * must; the bytes are only scanned for the end of each SSE event ("\n\n") and the end of the
 * chunked body ("0\r\n\r\n"). No HTTP parsing, no JSON, no records: whatever llmrace spends
 * above this client's CPU per event is its own work; what this client spends is the kernel's
 * and the event loop's, which any client that reads each segment as it arrives pays.
 *
 * epoll, level-triggered, one thread. With GATHER_US, it sleeps that long before each wait, as
 * llmrace's race workers do (src/rx_time/gather.rs), so one wake-up serves every socket that
 * became readable meanwhile. Prints the events read, the reads, and the CPU time of the process
 * (user and system, getrusage) per event.
 *
 * Build: cc -O2 -o floor_client floor_client.c
 * Usage: floor_client PORT STREAMS SECONDS TOKENS [GATHER_US]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct stream {
    int fd;
    char tail[5]; /* the last bytes read, to find markers split across reads */
};

static char request[512];
static int request_len;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void send_request(int fd) {
    if (write(fd, request, (size_t)request_len) != request_len) {
        perror("write");
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: floor_client PORT STREAMS SECONDS TOKENS [GATHER_US]\n");
        return 2;
    }
    int port = atoi(argv[1]), streams = atoi(argv[2]);
    double seconds = atof(argv[3]);
    long tokens = atol(argv[4]);
    long gather_us = argc > 5 ? atol(argv[5]) : 0;
    struct timespec gather = {.tv_sec = gather_us / 1000000, .tv_nsec = (gather_us % 1000000) * 1000};
    char body[128];
    int body_len = snprintf(body, sizeof body,
                            "{\"model\":\"m\",\"stream\":true,\"max_tokens\":%ld,\"messages\":[]}", tokens);
    request_len = snprintf(request, sizeof request,
                           "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           body_len, body);
    int ep = epoll_create1(0);
    struct stream *all = calloc((size_t)streams, sizeof *all);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int i = 0; i < streams; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            perror("connect");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        all[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        send_request(fd);
    }
    static char buf[65536];
    char control[256];
    long events = 0, reads = 0, answers = 0, stamped = 0;
    double end = now_s() + seconds;
    struct epoll_event ready[256];
    while (now_s() < end) {
        if (gather_us > 0) nanosleep(&gather, NULL);
        int n = epoll_wait(ep, ready, 256, 100);
        for (int k = 0; k < n; k++) {
            struct stream *s = &all[ready[k].data.u32];
            struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
            struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                                 .msg_control = control, .msg_controllen = sizeof control};
            ssize_t got = recvmsg(s->fd, &msg, 0);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "the server closed a connection\n");
                return 1;
            }
            reads++;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) stamped++;
            /* Events end with "\n\n"; one split across reads is found through the tail. */
            char prev = s->tail[4];
            for (ssize_t i = 0; i < got; i++) {
                if (buf[i] == '\n' && prev == '\n') events++;
                prev = buf[i];
            }
            if (got >= 5) memcpy(s->tail, buf + got - 5, 5);
            else {
                memmove(s->tail, s->tail + got, (size_t)(5 - got));
                memcpy(s->tail + 5 - got, buf, (size_t)got);
            }
            if (memcmp(s->tail, "0\r\n\r\n", 5) == 0) {
                answers++;
                memset(s->tail, 0, 5);
                send_request(s->fd);
            }
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("%ld events, %ld reads (%ld stamped), %ld answers in %.1f s; CPU %.2f s user + %.2f s sys\n",
           events, reads, stamped, answers, seconds, user, sys);
    printf("per event: %.2f µs (%.2f user + %.2f sys); reads per event %.2f\n",
           (user + sys) / (double)events * 1e6, user / (double)events * 1e6,
           sys / (double)events * 1e6, (double)reads / (double)events);
    return 0;
}
