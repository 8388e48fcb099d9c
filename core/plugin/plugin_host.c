#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_io.h"

struct post_item {
	stadion_post_fn *fn;
	void *arg;
	const struct plugin_services *owner; /* whose code fn is */
	struct post_item *next;
};

struct plugin_host {
	struct event_base *base;
	struct event *post_ev;   /* made active by post() */
	pthread_mutex_t lock;    /* guards the queue */
	struct post_item *head, *tail;
};

/* A timer or an fd watch; both are one event owned by one plugin. */
struct plugin_resource {
	struct event *ev;
	struct plugin_services *owner;
	stadion_timer_fn *timer_fn;
	stadion_fd_fn *fd_fn;
	void *arg;
	uint64_t interval_ms;    /* timers: 0 for one-shot */
	struct plugin_resource *prev, *next;
};

/* The ABI's opaque handles are our resources. */
struct stadion_timer {
	struct plugin_resource r;
};
struct stadion_watch {
	struct plugin_resource r;
};

static void post_run(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_host *host = arg;
	struct post_item *items, *next;

	pthread_mutex_lock(&host->lock);
	items = host->head;
	host->head = host->tail = NULL;
	pthread_mutex_unlock(&host->lock);
	for (; items != NULL; items = next) {
		next = items->next;
		items->fn(items->arg);
		free(items);
	}
}

struct plugin_host *plugin_host_new(struct event_base *base)
{
	struct plugin_host *host = calloc(1, sizeof(*host));

	if (host == NULL)
		return NULL;
	host->base = base;
	pthread_mutex_init(&host->lock, NULL);
	host->post_ev = event_new(base, -1, 0, post_run, host);
	if (host->post_ev == NULL) {
		pthread_mutex_destroy(&host->lock);
		free(host);
		return NULL;
	}
	return host;
}

void plugin_host_free(struct plugin_host *host)
{
	struct post_item *next;

	if (host == NULL)
		return;
	event_free(host->post_ev);
	for (struct post_item *p = host->head; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	pthread_mutex_destroy(&host->lock);
	free(host);
	plugin_io_cleanup();
}

struct event_base *plugin_host_base(const struct plugin_host *host)
{
	return host->base;
}

static void host_log(void *ctx, enum stadion_log_level level, const char *fmt,
                     ...)
{
	struct plugin_services *s = ctx;
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg((int)level, "%s: %s", s->label, line);
}

static int host_post(void *ctx, stadion_post_fn *fn, void *arg)
{
	struct plugin_services *s = ctx;
	struct plugin_host *host = s->host;
	struct post_item *item = malloc(sizeof(*item));

	if (item == NULL)
		return STADION_ENOMEM;
	item->fn = fn;
	item->arg = arg;
	item->owner = s;
	item->next = NULL;
	pthread_mutex_lock(&host->lock);
	if (host->tail != NULL)
		host->tail->next = item;
	else
		host->head = item;
	host->tail = item;
	/* Safe from any thread: libevent locks the base (evthread). */
	event_active(host->post_ev, 0, 1);
	pthread_mutex_unlock(&host->lock);
	return STADION_OK;
}

static void resource_link(struct plugin_services *s, struct plugin_resource *r)
{
	r->owner = s;
	r->prev = NULL;
	r->next = s->live;
	if (s->live != NULL)
		s->live->prev = r;
	s->live = r;
}

/* Unlink and free R (the memory is the enclosing timer or watch). */
static void resource_free(struct plugin_resource *r)
{
	struct plugin_services *s = r->owner;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		s->live = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	event_free(r->ev);
	free(r);
}

static struct timeval ms_to_tv(uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_resource *r = arg;

	/* Re-arm first: the callback may stop (free) the timer. */
	if (r->interval_ms != 0) {
		struct timeval tv = ms_to_tv(r->interval_ms);

		event_add(r->ev, &tv);
	}
	r->timer_fn(r->arg);
}

static struct stadion_timer *host_timer_start(void *ctx, uint64_t delay_ms,
                                              uint64_t interval_ms,
                                              stadion_timer_fn *fn, void *arg)
{
	struct plugin_services *s = ctx;
	struct stadion_timer *t;
	struct timeval tv = ms_to_tv(delay_ms);

	if (fn == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->r.timer_fn = fn;
	t->r.arg = arg;
	t->r.interval_ms = interval_ms;
	t->r.ev = evtimer_new(s->host->base, timer_fire, &t->r);
	if (t->r.ev == NULL || evtimer_add(t->r.ev, &tv) != 0) {
		if (t->r.ev != NULL)
			event_free(t->r.ev);
		free(t);
		return NULL;
	}
	resource_link(s, &t->r);
	return t;
}

static void host_timer_stop(void *ctx, struct stadion_timer *timer)
{
	if (timer != NULL)
		resource_free(&timer->r);
}

static void watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_resource *r = arg;
	unsigned ready = ((what & EV_READ) ? STADION_FD_READ : 0) |
	                 ((what & EV_WRITE) ? STADION_FD_WRITE : 0);

	r->fd_fn((int)fd, ready, r->arg);
}

static struct stadion_watch *host_fd_watch(void *ctx, int fd, unsigned events,
                                           stadion_fd_fn *fn, void *arg)
{
	struct plugin_services *s = ctx;
	struct stadion_watch *w;
	short what = EV_PERSIST;

	if (events & STADION_FD_READ)
		what |= EV_READ;
	if (events & STADION_FD_WRITE)
		what |= EV_WRITE;
	if (fn == NULL || fd < 0 || what == EV_PERSIST ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->r.fd_fn = fn;
	w->r.arg = arg;
	w->r.ev = event_new(s->host->base, fd, what, watch_fire, &w->r);
	if (w->r.ev == NULL || event_add(w->r.ev, NULL) != 0) {
		if (w->r.ev != NULL)
			event_free(w->r.ev);
		free(w);
		return NULL;
	}
	resource_link(s, &w->r);
	return w;
}

static void host_fd_unwatch(void *ctx, struct stadion_watch *watch)
{
	if (watch != NULL)
		resource_free(&watch->r);
}

void plugin_host_bind(struct plugin_host *host, struct plugin_services *s,
                      const char *label)
{
	memset(s, 0, sizeof(*s));
	s->host = host;
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->table = (struct stadion_host){
		.size = sizeof(struct stadion_host),
		.abi_major = STADION_PLUGIN_ABI_MAJOR,
		.abi_minor = STADION_PLUGIN_ABI_MINOR,
		.ctx = s,
		.log = host_log,
		.post = host_post,
		.timer_start = host_timer_start,
		.timer_stop = host_timer_stop,
		.fd_watch = host_fd_watch,
		.fd_unwatch = host_fd_unwatch,
		.conf_str = plugin_conf_str,
		.conf_int = plugin_conf_int,
		.conf_double = plugin_conf_double,
		.conf_bool = plugin_conf_bool,
		.conf_array_len = plugin_conf_array_len,
		.conf_array_str = plugin_conf_array_str,
		.http_get = plugin_io_http_get,
		.http_cancel = plugin_io_http_cancel,
		.spawn = plugin_io_spawn,
		.spawn_cancel = plugin_io_spawn_cancel,
	};
}

void plugin_host_sweep(struct plugin_services *s)
{
	struct plugin_host *host = s->host;
	struct post_item **pp, *dead;

	while (s->live != NULL)
		resource_free(s->live);
	plugin_io_sweep(s);
	if (host == NULL)
		return; /* never bound: it cannot have posted */
	/* Posts not run yet would call into code about to be unloaded. */
	pthread_mutex_lock(&host->lock);
	host->tail = NULL;
	for (pp = &host->head; *pp != NULL;) {
		if ((*pp)->owner == s) {
			dead = *pp;
			*pp = dead->next;
			free(dead);
		} else {
			host->tail = *pp;
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&host->lock);
}
