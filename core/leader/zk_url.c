/*
 * zk_url: parse --zk (see zk_url.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leader/zk_url.h"

#define SCHEME "zk://"

static int fail(char *err, size_t len, const char *url, const char *why)
{
	snprintf(err, len,
	         "--zk %s: %s; write it as zk://[user:password@]host:port"
	         "[,host:port...]/path, e.g. zk://127.0.0.1:2181/stadion",
	         url, why);
	return -1;
}

/* Whether HOSTS (LEN bytes) is host:port[,host:port...] with ports 1-65535. */
static const char *bad_hosts(const char *hosts, size_t len)
{
	const char *p = hosts, *end = hosts + len;

	if (len == 0)
		return "no ZooKeeper host";
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		const char *colon = NULL;
		long port = 0;

		for (const char *q = p; q < stop; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL || colon == p)
			return "every host needs a name and a :port";
		if (colon + 1 == stop)
			return "a port is missing after ':'";
		for (const char *q = colon + 1; q < stop; q++) {
			if (*q < '0' || *q > '9')
				return "a port is not a number";
			port = port * 10 + (*q - '0');
			if (port > 65535)
				return "a port is over 65535";
		}
		if (port == 0)
			return "a port is 0";
		p = comma != NULL ? comma + 1 : end;
		if (comma != NULL && p == end)
			return "the host list ends with ','";
	}
	return NULL;
}

int zk_url_parse(const char *url, struct zk_url *url_r, char *err, size_t len)
{
	struct zk_url u = {0};
	const char *rest, *at, *slash, *hosts;
	const char *why;
	size_t plen;

	if (url == NULL || strncmp(url, SCHEME, strlen(SCHEME)) != 0)
		return fail(err, len, url != NULL ? url : "(null)",
		            "it does not start with zk://");
	rest = url + strlen(SCHEME);
	if ((slash = strchr(rest, '/')) == NULL)
		return fail(err, len, url, "the path (/stadion) is missing");
	at = memchr(rest, '@', (size_t)(slash - rest));
	hosts = at != NULL ? at + 1 : rest;
	if (at != NULL && (at == rest || memchr(rest, ':', (size_t)(at - rest)) ==
	                                         NULL))
		return fail(err, len, url,
		            "credentials must be user:password before '@'");
	if ((why = bad_hosts(hosts, (size_t)(slash - hosts))) != NULL)
		return fail(err, len, url, why);
	plen = strlen(slash);
	if (plen < 2 || slash[plen - 1] == '/' || strstr(slash, "//") != NULL)
		return fail(err, len, url,
		            "the path must name a znode, without a trailing "
		            "'/' or empty segments");
	if ((u.hosts = strndup(hosts, (size_t)(slash - hosts))) == NULL ||
	    (u.path = strdup(slash)) == NULL ||
	    (at != NULL &&
	     (u.digest = strndup(rest, (size_t)(at - rest))) == NULL)) {
		zk_url_clear(&u);
		snprintf(err, len, "out of memory parsing --zk");
		return -1;
	}
	*url_r = u;
	return 0;
}

void zk_url_clear(struct zk_url *url)
{
	free(url->hosts);
	free(url->path);
	free(url->digest);
	url->hosts = url->path = url->digest = NULL;
}
