"""shaoxing-ops: the data exchange, inspection and statistics platform of 绍兴市市场监督管理局."""
