"""Chinese names, addresses, phone numbers and texts that look like Shaoxing's registers."""

from __future__ import annotations

import datetime as dt
import random

from shaoxing_ops.domain.geography import BY_CODE, ROADS, STREETS

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤俞楼裘"
)
# Shaoxing has many 俞, 楼, 裘, 钱, 陈, 王: the front of the list is drawn more often.
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国文辉鹏飞斌宇浩凯健俊帆帅旭宁晨亮成志海波永春林"
)
GIVEN2 = "一小子嘉俊雨思梓欣佳浩宇晓建国海丽金美立新志永春秋"
SHOP_WORDS = "鑫源盛兴隆泰达丰华顺祥福瑞德利恒昌宏发锦荣越稽兰亭鉴湖会稽东湖柯岩若耶新和永嘉万通"
INDUSTRY_WORDS = {
    "A": ["农业开发", "生态农业", "果蔬种植", "水产养殖", "茶叶"],
    "B": ["矿业", "石材开采"],
    "C": ["纺织", "印染", "化纤", "服饰", "机械制造", "电机", "五金制品", "针织", "轴承", "塑料制品", "酿酒"],
    "D": ["热电", "燃气", "供水"],
    "E": ["建筑工程", "装饰工程", "市政工程", "园林绿化工程"],
    "F": ["贸易", "商贸", "纺织品贸易", "五金经营部", "食品商行", "建材商行", "电子商务"],
    "G": ["物流", "货运代理", "运输"],
    "H": ["餐饮管理", "酒店管理", "餐饮", "小吃"],
    "I": ["网络科技", "信息技术", "软件开发", "数字科技"],
    "J": ["投资管理", "融资租赁"],
    "K": ["房地产开发", "物业管理", "房产经纪"],
    "L": ["企业管理咨询", "商务信息咨询", "人力资源", "广告"],
    "M": ["科技", "检测技术", "设计", "新材料科技"],
    "N": ["环保科技", "环境工程"],
    "O": ["家政服务", "汽车维修", "美容美发", "洗衣"],
    "P": ["教育咨询", "培训"],
    "Q": ["健康管理", "诊所"],
    "R": ["文化传媒", "体育发展", "影视"],
    "S": ["社会工作服务"],
    "T": ["代表处"],
}
SHOP_SUFFIX = {
    "F": ["便利店", "副食品店", "五金店", "服装店", "水果店", "烟酒商行", "日用品店"],
    "H": ["小吃店", "面馆", "饭店", "奶茶店", "早餐店"],
    "O": ["理发店", "汽车修理部", "洗衣店", "家电维修部"],
    "C": ["加工厂", "纺织厂", "服装加工店"],
}
ORG_FORMS = {
    "1": "有限公司",
    "12": "股份有限公司",
    "2": "分公司",
    "3": "厂",
    "4531": "（普通合伙）",
    "4533": "（有限合伙）",
    "4540": "（个人独资）",
    "9100": "专业合作社",
}
SCOPES = {
    "A": "蔬菜、水果种植；水产养殖；农产品初加工服务",
    "B": "建筑用石开采；矿产品销售",
    "C": "纺织品、针织品制造、加工；化纤织物染整；服装制造；货物进出口",
    "D": "热力生产和供应；燃气经营",
    "E": "建设工程施工；建筑装饰工程；园林绿化工程施工",
    "F": "纺织品、服装、日用品、五金产品、建筑材料销售；食品经营（销售预包装食品）",
    "G": "道路货物运输（不含危险货物）；国内货物运输代理；仓储服务",
    "H": "餐饮服务；食品经营；酒店管理",
    "I": "软件开发；信息技术咨询服务；网络技术服务",
    "J": "股权投资；投资管理；融资租赁业务",
    "K": "房地产开发经营；物业管理；住房租赁",
    "L": "企业管理咨询；信息咨询服务；广告设计、代理",
    "M": "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；检验检测服务",
    "N": "环保咨询服务；污水处理及其再生利用",
    "O": "家政服务；机动车修理和维护；美发服务",
    "P": "教育咨询服务；非学历职业技能培训",
    "Q": "健康咨询服务；诊所服务",
    "R": "组织文化艺术交流活动；体育赛事策划",
    "S": "社会工作服务",
    "T": "从事与外国企业业务有关的非营利性业务活动",
}
ID_AREAS = (
    "330602",
    "330621",
    "330603",
    "330682",
    "330604",
    "330624",
    "330681",
    "330683",
    "330102",
    "330203",
    "330302",
    "330782",
    "340102",
    "360102",
    "420102",
    "510104",
    "410102",
    "430102",
)


def person_name(rng: random.Random) -> str:
    idx = min(int(rng.expovariate(1 / 18)), len(SURNAMES) - 1)
    surname = SURNAMES[idx]
    if rng.random() < 0.65:
        return surname + rng.choice(GIVEN2) + rng.choice(GIVEN)
    return surname + rng.choice(GIVEN)


def shop_word(rng: random.Random) -> str:
    return rng.choice(SHOP_WORDS) + rng.choice(SHOP_WORDS)


def enterprise_name(rng: random.Random, district: str, industry: str, enttype: str) -> str:
    place = rng.choice(
        ["绍兴", "浙江", "绍兴" + BY_CODE[district].name.rstrip("区县市") if district != "330600" else "绍兴"]
    )
    word = rng.choice(INDUSTRY_WORDS[industry])
    if enttype == "9100":
        return f"{place}{shop_word(rng)}{word}{ORG_FORMS['9100']}"
    if enttype.startswith("2"):
        return f"{place}{shop_word(rng)}{word}有限公司{BY_CODE[district].name}分公司"
    if enttype in ORG_FORMS:
        return f"{place}{shop_word(rng)}{word}{ORG_FORMS[enttype]}"
    if enttype.startswith("12"):
        return f"{place}{shop_word(rng)}{word}{ORG_FORMS['12']}"
    if enttype.startswith("3"):
        return f"{place}{shop_word(rng)}{word}{ORG_FORMS['3']}"
    return f"{place}{shop_word(rng)}{word}{ORG_FORMS['1']}"


def shop_name(rng: random.Random, district: str, industry: str) -> str:
    suffix = rng.choice(SHOP_SUFFIX.get(industry, ["经营部", "工作室", "服务部"]))
    return f"{BY_CODE[district].name if district != '330600' else '越城区'}{shop_word(rng)}{suffix}"


def address(rng: random.Random, district: str) -> str:
    name = BY_CODE[district].name if district != "330600" else "越城区"
    street = rng.choice(STREETS[district])
    if rng.random() < 0.3:
        return f"浙江省绍兴市{name}{street}{rng.choice(['中国轻纺城', '万达广场', '创意园'])}{rng.randint(1, 30)}幢{rng.randint(101, 1808)}室"
    return f"浙江省绍兴市{name}{street}{rng.choice(ROADS)}{rng.randint(1, 999)}号"


def mobile(rng: random.Random) -> str:
    return rng.choice(["13", "15", "18", "17", "19"]) + str(rng.randint(0, 9)) + f"{rng.randrange(10**8):08d}"


def phone(rng: random.Random) -> str:
    return mobile(rng) if rng.random() < 0.8 else f"0575-8{rng.randrange(10**6, 10**7)}"


def birth_date(rng: random.Random, on: dt.date) -> dt.date:
    age = rng.randint(22, 68)
    return on - dt.timedelta(days=age * 365 + rng.randint(0, 364))


def sentence(rng: random.Random, label: str) -> str:
    verbs = ["经核查", "经现场检查", "根据群众反映", "经调查", "依据有关规定"]
    ends = [
        "情况属实，已依法处理。",
        "未发现明显问题。",
        "已责令限期整改。",
        "相关材料已归档。",
        "已告知当事人相关权利。",
    ]
    return f"{rng.choice(verbs)}，{label}{rng.choice(ends)}"
