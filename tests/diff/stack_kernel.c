/* Kernel build: the dut namespace's own interface carries the traffic. */
#include "diff_stack.h"

int diff_stack_start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
