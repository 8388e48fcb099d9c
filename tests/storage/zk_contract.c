/*
 * zk_contract: the storage contract suite (test_storage_contract, run
 * unchanged) against the ZooKeeper plugin and a real ZooKeeper server that
 * this program starts on a free loopback port and stops afterwards.
 *
 * It points the suite at the plugin through the suite's own environment
 * (STORAGE_PLUGIN, STORAGE_CONF, STORAGE_MAX_VALUE) and exits with the
 * suite's status.  Each test of the suite gets its own znode path: the
 * suite's per-test directory "@DIR@" is part of it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/zkserver.h"

#ifndef CONTRACT_PROGRAM
#define CONTRACT_PROGRAM "tests/storage/test_storage_contract"
#endif
#ifndef ZK_PLUGIN
#define ZK_PLUGIN "plugins/storage/zookeeper/.libs/storage_zookeeper.so"
#endif

int main(void)
{
	struct zk_server zk;
	char conf[256];
	int status = 0;
	pid_t pid;

	if (zk_server_start(&zk) != 0) {
		fprintf(stderr, "FAIL: the storage contract on ZooKeeper needs "
		                "a ZooKeeper server (see above)\n");
		return 1;
	}
	snprintf(conf, sizeof(conf),
	         "{\"hosts\": \"%s\", \"path\": \"/contract@DIR@\", "
	         "\"session_timeout_ms\": 4000, \"timeout_ms\": 20000}",
	         zk.hosts);
	setenv("STORAGE_PLUGIN", ZK_PLUGIN, 1);
	setenv("STORAGE_CONF", conf, 1);
	setenv("STORAGE_MAX_VALUE", "1000000", 1);
	unsetenv("STORAGE_SMALL_CONF");
	fflush(NULL);
	if ((pid = fork()) == 0) {
		execl(CONTRACT_PROGRAM, CONTRACT_PROGRAM, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", CONTRACT_PROGRAM,
		        strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = 1 << 8;
	zk_server_free(&zk);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "FAIL: %s died of signal %d\n", CONTRACT_PROGRAM,
	        WTERMSIG(status));
	return 1;
}
