#pragma once
#include <sys/poll.h>
