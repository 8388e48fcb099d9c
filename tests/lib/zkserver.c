/*
 * zkserver: Debian's ZooKeeper server as a child of a test program (see
 * zkserver.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/testfs.h"
#include "lib/testnet.h"
#include "lib/zkserver.h"

#define DEFAULT_JAR "/usr/share/java/zookeeper.jar"
#define DEFAULT_JAVA "/usr/bin/java"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : dflt;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the server on PORT answers "ruok" with "imok". */
static int answers(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[8] = {0};
	int ok = 0;

	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    write(fd, "ruok", 4) == 4 && poll(&pfd, 1, 1000) == 1 &&
	    read(fd, buf, 4) == 4)
		ok = memcmp(buf, "imok", 4) == 0;
	close(fd);
	return ok;
}

static void write_cfg(const struct zk_server *z, FILE *f)
{
	/* tickTime 500 allows sessions from 1 s (2 ticks): tests use short
	 * ones.  Only ruok among the four-letter words, for the wait. */
	fprintf(f,
	        "tickTime=500\n"
	        "initLimit=10\n"
	        "syncLimit=5\n"
	        "dataDir=%s/data\n"
	        "clientPort=%u\n"
	        "clientPortAddress=127.0.0.1\n"
	        "maxClientCnxns=0\n"
	        "minSessionTimeout=1000\n"
	        "maxSessionTimeout=60000\n"
	        "admin.enableServer=false\n"
	        "4lw.commands.whitelist=ruok\n"
	        "autopurge.purgeInterval=0\n",
	        z->dir, (unsigned)z->port);
}

/* Fork and exec the server; its output goes to <dir>/zookeeper.log. */
static int spawn(struct zk_server *z)
{
	const char *jar = env_or("ZK_JAR", DEFAULT_JAR);
	const char *java = env_or("JAVA", DEFAULT_JAVA);
	char cfg[PATH_MAX + 16], logf[PATH_MAX + 16];
	pid_t parent = getpid(), pid;
	double deadline;
	int status;

	snprintf(cfg, sizeof(cfg), "%s/zoo.cfg", z->dir);
	snprintf(logf, sizeof(logf), "%s/zookeeper.log", z->dir);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "zkserver: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* Our test dies, the server dies: no stray JVM. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setpgid(0, 0);
		execl(java, java, "-Xmx512m", "-XX:+UseSerialGC",
		      "-XX:TieredStopAtLevel=1", "-Dzookeeper.admin.enableServer=false",
		      "-cp", jar, "org.apache.zookeeper.server.ZooKeeperServerMain",
		      cfg, (char *)NULL);
		fprintf(stderr, "zkserver: cannot run %s: %s\n", java,
		        strerror(errno));
		_exit(127);
	}
	z->pid = pid;
	deadline = now_s() + ZK_SERVER_START_S;
	while (now_s() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			z->pid = 0;
			fprintf(stderr,
			        "zkserver: the ZooKeeper server exited at start "
			        "(status %d); its output is in %s\n",
			        status, logf);
			return -1;
		}
		if (answers(z->port))
			return 0;
		usleep(50 * 1000);
	}
	fprintf(stderr, "zkserver: the ZooKeeper server did not answer on "
	                "127.0.0.1:%u within %d s; see %s\n",
	        (unsigned)z->port, ZK_SERVER_START_S, logf);
	zk_server_kill(z);
	return -1;
}

int zk_server_start(struct zk_server *z)
{
	const char *jar = env_or("ZK_JAR", DEFAULT_JAR);
	const char *java = env_or("JAVA", DEFAULT_JAVA);
	char path[PATH_MAX + 16];
	FILE *f;

	memset(z, 0, sizeof(*z));
	if (access(jar, R_OK) != 0) {
		fprintf(stderr,
		        "zkserver: the ZooKeeper server %s is not installed: "
		        "apt-get install zookeeper (scripts/common.sh installs "
		        "it), or set ZK_JAR to the server's jar\n",
		        jar);
		return -1;
	}
	if (access(java, X_OK) != 0) {
		fprintf(stderr,
		        "zkserver: %s is missing: the zookeeper package pulls in "
		        "a Java runtime (apt-get install zookeeper), or set "
		        "JAVA\n",
		        java);
		return -1;
	}
	if (!testfs_mkdtemp(z->dir, sizeof(z->dir), "zookeeper"))
		return -1;
	snprintf(path, sizeof(path), "%s/data", z->dir);
	if (mkdir(path, 0700) != 0 || (z->port = testnet_free_port()) == 0) {
		fprintf(stderr, "zkserver: cannot prepare %s: %s\n", z->dir,
		        strerror(errno));
		goto fail_rm_dir;
	}
	snprintf(z->hosts, sizeof(z->hosts), "127.0.0.1:%u",
	         (unsigned)z->port);
	snprintf(path, sizeof(path), "%s/zoo.cfg", z->dir);
	if ((f = fopen(path, "w")) == NULL)
		goto fail_rm_dir;
	write_cfg(z, f);
	if (fclose(f) != 0 || spawn(z) != 0)
		goto fail_rm_dir;
	return 0;

fail_rm_dir:
	testfs_rm_tree(z->dir);
	z->dir[0] = '\0';
	return -1;
}

int zk_server_kill(struct zk_server *z)
{
	int status;

	if (z->pid <= 0)
		return -1;
	kill(z->pid, SIGKILL);
	while (waitpid(z->pid, &status, 0) < 0 && errno == EINTR)
		;
	z->pid = 0;
	return 0;
}

int zk_server_restart(struct zk_server *z)
{
	if (z->dir[0] == '\0')
		return -1;
	zk_server_kill(z);
	return spawn(z);
}

void zk_server_free(struct zk_server *z)
{
	zk_server_kill(z);
	if (z->dir[0] != '\0' && getenv("KEEP_TEST_DATA") != NULL)
		fprintf(stderr, "zkserver: KEEP_TEST_DATA: kept %s\n", z->dir);
	else if (z->dir[0] != '\0')
		testfs_rm_tree(z->dir);
	z->dir[0] = '\0';
}
