/* park: threads stopped between requests for a pause (see park.h). */
#include "config.h"
#include <errno.h>
#include <time.h>
#include "vmm/park.h"

void vmm_park_init(struct vmm_park *p)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->req = p->parked = p->stop = false;
}

int vmm_park_request(struct vmm_park *p, void (*wake)(void *arg), void *arg)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&p->lock);
	p->req = true;
	pthread_mutex_unlock(&p->lock);
	wake(arg);
	pthread_mutex_lock(&p->lock);
	while (rc == 0 && !p->parked && !p->stop)
		rc = -pthread_cond_timedwait(&p->cond, &p->lock, &until);
	if (rc < 0) {
		p->req = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void vmm_park_release(struct vmm_park *p)
{
	pthread_mutex_lock(&p->lock);
	p->req = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void vmm_park_point(struct vmm_park *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->req && !p->stop) {
		p->parked = true;
		pthread_cond_broadcast(&p->cond);
		while (p->req && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		p->parked = false;
	}
	pthread_mutex_unlock(&p->lock);
}

void vmm_park_stop(struct vmm_park *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
