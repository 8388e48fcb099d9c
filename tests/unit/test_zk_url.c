/* zk_url: Marathon's --zk URL taken apart, and the refusals operators see. */
#include "config.h"

#include <stdio.h>

#include "leader/zk_url.h"
#include "lib/cu_run.h"

static void test_parts(void)
{
	struct zk_url u = {0};
	char err[512];

	if (CHECK_INT(zk_url_parse("zk://h1:2181,h2:2182/stadion", &u, err,
	                           sizeof(err)),
	              0)) {
		CHECK_STR(u.hosts, "h1:2181,h2:2182");
		CHECK_STR(u.path, "/stadion");
		CHECK(u.digest == NULL);
	}
	zk_url_clear(&u);
	zk_url_clear(&u);
	if (CHECK_INT(zk_url_parse("zk://ops:s3cr:t@10.0.0.1:2181/a/b", &u,
	                           err, sizeof(err)),
	              0)) {
		CHECK_STR(u.hosts, "10.0.0.1:2181");
		CHECK_STR(u.path, "/a/b");
		CHECK_STR(u.digest, "ops:s3cr:t");
	}
	zk_url_clear(&u);
}

static void refused(const char *url, const char *needle)
{
	struct zk_url u = {0};
	char err[512] = "";

	CHECK_INT(zk_url_parse(url, &u, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, needle);
	CHECK_CONTAINS(err, "zk://[user:password@]host:port");
	CHECK(u.hosts == NULL);
}

static void test_refusals(void)
{
	refused("http://h:1/x", "does not start with zk://");
	refused("zk://h:2181", "the path (/stadion) is missing");
	refused("zk://h:2181/", "must name a znode");
	refused("zk://h:2181/a/", "must name a znode");
	refused("zk://h:2181/a//b", "must name a znode");
	refused("zk:///x", "no ZooKeeper host");
	refused("zk://h/x", "every host needs a name and a :port");
	refused("zk://:2181/x", "every host needs a name and a :port");
	refused("zk://h:/x", "a port is missing");
	refused("zk://h:21a/x", "a port is not a number");
	refused("zk://h:70000/x", "over 65535");
	refused("zk://h:0/x", "a port is 0");
	refused("zk://h:1,/x", "ends with ','");
	refused("zk://user@h:1/x", "credentials must be user:password");
}

static CU_TestInfo tests[] = {
	{"hosts, path and digest", test_parts},
	{"malformed URLs say what is wrong", test_refusals},
	CU_TEST_INFO_NULL,
};

int main(void)
{
	CU_SuiteInfo suites[] = {
		{"zk_url", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
