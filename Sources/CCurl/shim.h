#ifndef ENERGY_MONITOR_CCURL_SHIM_H
#define ENERGY_MONITOR_CCURL_SHIM_H
#include <curl/curl.h>

/* Macros Swift does not import (casts, or expressions over other macros) as constants, so
   that the Swift code names the libcurl symbol it means. */
static const long ccurl_global_all = CURL_GLOBAL_ALL;
static const long ccurl_auth_basic = (long)CURLAUTH_BASIC;
static const long ccurl_auth_digest = (long)CURLAUTH_DIGEST;
static const unsigned int ccurl_blob_copy = CURL_BLOB_COPY;

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic and
   therefore unavailable in Swift: one typed wrapper per argument kind. */

static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* Restricts a transfer to HTTP and HTTPS (no file://, no other scheme, redirects are off
   anyway). CURLOPT_PROTOCOLS_STR arrived in libcurl 7.85.0 and CURLOPT_PROTOCOLS, its
   bitmask predecessor, is deprecated since: the header decides, so the image builds on
   Ubuntu 22.04 (7.81.0) and without deprecation warnings on newer libcurl alike. */
static inline CURLcode ccurl_easy_restrict_to_http(CURL *handle) {
#if LIBCURL_VERSION_NUM >= 0x075500
    return curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    return curl_easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

typedef size_t (*ccurl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, CURLoption option, ccurl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPT_SOCKOPTFUNCTION that makes close() reset the connection (SO_LINGER, zero
   timeout) instead of sending FIN and waiting out TIME_WAIT. */
static int ccurl_abortive_close_sockopt(void *context, curl_socket_t socket, curlsocktype purpose) {
    (void)context;
    (void)purpose;
    struct linger linger;
    linger.l_onoff = 1;
    linger.l_linger = 0;
    (void)setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    return CURL_SOCKOPT_OK;
}

static inline CURLcode ccurl_easy_set_abortive_close(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, ccurl_abortive_close_sockopt);
}

#ifdef __linux__
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

/* The abortive close above plus TCP keepalive, for long-lived transfers (watches): probes
   after 30 s of silence, every 10 s, and the connection fails after 3 unanswered ones, so a
   peer that vanished without a FIN or RST is noticed within about a minute. libcurl's own
   keepalive options cannot set the probe count before 8.9.0. */
static int ccurl_keepalive_sockopt(void *context, curl_socket_t socket, curlsocktype purpose) {
    int on = 1;
    (void)ccurl_abortive_close_sockopt(context, socket, purpose);
    (void)setsockopt(socket, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#ifdef __linux__
    {
        int idle = 30, interval = 10, count = 3;
        (void)setsockopt(socket, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        (void)setsockopt(socket, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        (void)setsockopt(socket, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
#endif
    return CURL_SOCKOPT_OK;
}

static inline CURLcode ccurl_easy_set_keepalive_close(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, ccurl_keepalive_sockopt);
}

static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode ccurl_multi_setopt_pointer(CURLM *handle, CURLMoption option, void *value) {
    return curl_multi_setopt(handle, option, value);
}

/* The multi interface's event callbacks (curl_multi_socket_action): libcurl says which
   sockets to watch for what, and when it next needs a timeout call. */
typedef int (*ccurl_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *context, void *socketContext);
typedef int (*ccurl_timer_callback)(CURLM *multi, long timeoutMilliseconds, void *context);

static inline CURLMcode ccurl_multi_setopt_socket_function(CURLM *handle, ccurl_socket_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_SOCKETFUNCTION, value);
}

static inline CURLMcode ccurl_multi_setopt_timer_function(CURLM *handle, ccurl_timer_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_TIMERFUNCTION, value);
}

#ifdef __linux__
#include <malloc.h>

/* Hands memory malloc holds free back to the kernel (every arena, also from the middle of
   the heap): libcurl's per-transfer allocations of a burst of thousands of transfers are
   otherwise kept as free heap for good. */
static inline void ccurl_release_free_memory(void) {
    (void)malloc_trim(0);
}

/* epoll and eventfd for the client's event loop; Swift's Glibc module does not export them. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

/* epoll_ctl with `token` as the event's data (the loop packs shard and descriptor into it). */
static inline int ccurl_epoll_control(int epoll, int operation, int descriptor, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epoll, operation, descriptor, &event);
}

/* The token and event bits of entry `index` of an epoll_wait result. The struct is packed
   on x86_64, so it is read here rather than through Swift's imported layout. */
static inline uint64_t ccurl_epoll_event_token(const struct epoll_event *events, int index) {
    return events[index].data.u64;
}

static inline uint32_t ccurl_epoll_event_bits(const struct epoll_event *events, int index) {
    return events[index].events;
}
#endif
#endif
