#pragma once
int ioctl(int fd, int request, ...);
